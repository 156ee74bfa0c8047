package dev.eaglespark.regen;

import dev.eaglespark.data.TemplateLimits;
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
 * @param templateLimits what one render of the (untrusted) chat template may spend
 */
public record RegenerateSettings(int maxNewTokens, int maxPromptTokens, double temperature, double topP, long seed,
                                 int batchSize, TemplateLimits templateLimits) implements Serializable {
    /** With the default template limits. */
    public RegenerateSettings(int maxNewTokens, int maxPromptTokens, double temperature, double topP, long seed,
                              int batchSize) {
        this(maxNewTokens, maxPromptTokens, temperature, topP, seed, batchSize, TemplateLimits.defaults());
    }

    public Sampling sampling() {
        return new Sampling(temperature, topP);
    }
}
