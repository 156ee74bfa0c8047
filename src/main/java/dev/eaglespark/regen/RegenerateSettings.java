package dev.eaglespark.regen;

import dev.eaglespark.model.Sampling;
import java.io.Serializable;

/**
 * How answers are regenerated.
 *
 * @param maxNewTokens longest answer per turn
 * @param maxPromptTokens longest prompt (conversation so far); longer turns are rejected
 * @param temperature 0 for greedy decoding
 * @param topP nucleus for sampling
 * @param seed base seed; each record and turn derives its own, so results do not depend on batching
 * @param batchSize conversations answered together
 */
public record RegenerateSettings(int maxNewTokens, int maxPromptTokens, double temperature, double topP, long seed,
                                 int batchSize) implements Serializable {
    public Sampling sampling() {
        return new Sampling(temperature, topP);
    }
}
