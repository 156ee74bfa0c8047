package dev.eaglespark.features;

import dev.eaglespark.data.TemplateLimits;
import dev.eaglespark.data.TruncationPolicy;
import java.io.Serializable;

/**
 * What stage 1 computes, shipped to every task.
 *
 * @param modelDir target model directory (local path, or any Hadoop URI: copied to the executor once)
 * @param auxLayers hidden-state indices to fuse (transformers' numbering); null for 2, L/2, L-3
 * @param maxLength longest sample in tokens; longer ones are cut or dropped per {@code truncation}
 * @param templateText chat template source overriding the model's; null to use the model's own
 * @param tokensPerBatch padded tokens per forward pass (rows x longest row)
 * @param window samples read ahead and sorted by length before batching
 * @param templateLimits what one render of the (untrusted) chat template may spend
 */
public record FeatureSettings(String modelDir, int[] auxLayers, int maxLength, TruncationPolicy truncation,
                              String templateText, int tokensPerBatch, int window, TemplateLimits templateLimits)
        implements Serializable {

    /** With the default template limits. */
    public FeatureSettings(String modelDir, int[] auxLayers, int maxLength, TruncationPolicy truncation,
                           String templateText, int tokensPerBatch, int window) {
        this(modelDir, auxLayers, maxLength, truncation, templateText, tokensPerBatch, window,
                TemplateLimits.defaults());
    }

    /** The same settings for the model at {@code dir} (where the driver put it for the executors). */
    public FeatureSettings withModelDir(String dir) {
        return new FeatureSettings(dir, auxLayers, maxLength, truncation, templateText, tokensPerBatch, window,
                templateLimits);
    }

    /** The aux layers to use for a target of {@code numLayers} layers, checked. */
    public int[] auxFor(int numLayers) {
        int[] aux = auxLayers != null ? auxLayers.clone() : defaultAux(numLayers);
        for (int a : aux) {
            if (a < 0 || a >= numLayers) {
                throw new IllegalArgumentException("aux layer " + a + " outside [0, " + numLayers
                        + "): hidden-state indices count the embeddings as 0 and layer i's output as i+1");
            }
        }
        return aux;
    }

    /** The inputs of layers 2, L/2 and L-3: what serving engines feed EAGLE-3 drafts. */
    public static int[] defaultAux(int numLayers) {
        return new int[] {2, numLayers / 2, numLayers - 3};
    }
}
