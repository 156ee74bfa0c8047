package dev.eaglespark.draft;

import dev.eaglespark.model.SharedFragments;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The draft's math, once: every draft script (the train-time-test steps of
 * {@link TrainTimeTestScript}, the inference steps of {@link DraftStepScripts}) is its own
 * {@code forward} with the draft's layer and head ({@code scripts/draft/layer.torchscript}) and the
 * methods the target's layer shares ({@link SharedFragments}: RMSNorm, rotary, attention, KV-cache
 * writes), so training and speculative decoding cannot compute two different drafts.
 */
final class DraftFragments {
    /** The weights a script reads, by serving name and as the scripts name them, in {@code forward}'s order. */
    private static final String[][] NAMES = {{"fc.weight", "fc"}, {DraftParams.EMBED, "embed"},
            {"midlayer.input_layernorm.weight", "in_norm"}, {"midlayer.hidden_norm.weight", "hidden_norm"},
            {"midlayer.self_attn.q_proj.weight", "wq"}, {"midlayer.self_attn.k_proj.weight", "wk"},
            {"midlayer.self_attn.v_proj.weight", "wv"}, {"midlayer.self_attn.o_proj.weight", "wo"},
            {"midlayer.post_attention_layernorm.weight", "post_norm"}, {"midlayer.mlp.gate_proj.weight", "gate"},
            {"midlayer.mlp.up_proj.weight", "up"}, {"midlayer.mlp.down_proj.weight", "down"}, {"norm.weight", "norm"},
            {DraftParams.LM_HEAD, "lm_head"}};
    /** The serving names of the weights a script reads, in the order its {@code forward} takes them. */
    static final List<String> WEIGHTS = Arrays.stream(NAMES).map(n -> n[0]).toList();
    /** The same as {@code forward}'s typed parameters (the templates' {@code ${weights}}). */
    private static final String WEIGHT_PARAMETERS = Arrays.stream(NAMES).map(n -> n[1] + ": Tensor")
            .collect(Collectors.joining(", "));
    private static final ScriptTemplate LAYER = ScriptTemplate.of("draft/layer");
    private static final ScriptTemplate TRAIN_ATTENTION = ScriptTemplate.of("draft/train-attention");

    private DraftFragments() {}

    /**
     * The module of class {@code className}: {@code templates} (a {@code forward} among them, with
     * {@code values}) and the draft's layer, head and shared methods for {@code c}'s shapes.
     */
    static ScriptModule module(DraftConfig c, String className, Map<String, ?> values, ScriptTemplate... templates) {
        return module(c, className, values, List.of(templates), new ScriptTemplate[0]);
    }

    /** {@link #module} with the train-time-test steps' attention ({@code draft/train-attention.torchscript}). */
    static ScriptModule trainingModule(DraftConfig c, String className, Map<String, ?> values,
                                       ScriptTemplate... templates) {
        return module(c, className, values, List.of(templates), TRAIN_ATTENTION);
    }

    private static ScriptModule module(DraftConfig c, String className, Map<String, ?> values,
                                       List<ScriptTemplate> templates, ScriptTemplate... shaped) {
        Map<String, Object> keys = new HashMap<>(values);
        keys.putAll(Map.of("weights", WEIGHT_PARAMETERS, "heads", c.numHeads(), "kv_heads", c.numKvHeads()));
        List<ScriptTemplate> all = new ArrayList<>(templates);
        all.add(LAYER);
        return ScriptModule.of(className, ScriptTemplate.methods(className, keys, ScriptTemplate.COMMENTS, all)
                + new SharedFragments(c.numHeads(), c.numKvHeads(), c.headDim(), c.rmsNormEps())
                        .methods(className, shaped));
    }
}
