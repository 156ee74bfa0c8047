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
 * @param batchSize rows decoded together (slots of continuous batching); 0: as many as free GPU
 *     memory holds (at most 256), 16 on the CPU
 * @param templateLimits what one render of the (untrusted) chat template may spend
 */
public record RegenerateSettings(int maxNewTokens, int maxPromptTokens, double temperature, double topP, long seed,
                                 int batchSize, TemplateLimits templateLimits) implements Serializable {
    public RegenerateSettings {
        if (maxNewTokens < 0 || maxPromptTokens < 1 || batchSize < 0) {
            throw new IllegalArgumentException("max-new-tokens and batch-size must be >= 0 and max-prompt-tokens"
                    + " >= 1, got " + maxNewTokens + ", " + batchSize + ", " + maxPromptTokens);
        }
    }

    /** With the default template limits. */
    public RegenerateSettings(int maxNewTokens, int maxPromptTokens, double temperature, double topP, long seed,
                              int batchSize) {
        this(maxNewTokens, maxPromptTokens, temperature, topP, seed, batchSize, TemplateLimits.defaults());
    }

    public Sampling sampling() {
        return new Sampling(temperature, topP);
    }
}
