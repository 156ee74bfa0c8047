package dev.eaglespark.features;

import dev.eaglespark.model.TargetConfig;
import java.io.IOException;

/**
 * What made a set of features, as far as a training run can check it: the target (SHA-256 of
 * its config.json and tokenizer.json, its hidden size and layer count), the chat template
 * (source and hash, as {@link FeatureManifest.Template} records them) and the aux hidden-state
 * indices. Null where it is not known: a field an older manifest did not record, the aux layers
 * of a target nobody has chosen them for.
 */
public record FeatureOrigin(String configSha256, String tokenizerSha256, Integer hiddenSize, Integer numLayers,
                            String templateSource, String templateSha256, int[] auxLayerIds) {
    /** The template source of a model's own chat template (in its tokenizer_config.json). */
    public static final String MODEL_TEMPLATE = "model";
    /** The template source of a template file given to the features stage or online training. */
    public static final String OVERRIDE_TEMPLATE = "override";

    /**
     * What features of {@code target} record when rendered with {@code templateText} (null: the
     * model's own template) at the aux layers {@code aux} (null: none chosen yet).
     */
    public static FeatureOrigin of(TargetFiles target, String templateText, int[] aux) throws IOException {
        TargetConfig cfg = target.config();
        return new FeatureOrigin(target.configSha256(), target.tokenizerSha256(), cfg.hiddenSize(), cfg.numLayers(),
                templateText != null ? OVERRIDE_TEMPLATE : MODEL_TEMPLATE, target.templateSha256(templateText),
                aux == null ? null : aux.clone());
    }

    /** The same origin with the template unknown. */
    public FeatureOrigin withoutTemplate() {
        return new FeatureOrigin(configSha256, tokenizerSha256, hiddenSize, numLayers, null, null, auxLayerIds);
    }
}
