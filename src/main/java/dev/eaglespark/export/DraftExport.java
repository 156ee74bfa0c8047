package dev.eaglespark.export;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.model.RopeScaling;
import dev.eaglespark.tensors.SafeTensorsWriter;
import dev.eaglespark.tensors.TensorDType;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A trained draft in the layout SGLang and vLLM load as {@code LlamaForCausalLMEagle3}:
 * {@code config.json} and {@code model.safetensors} (bf16 weights, int64 d2t, bool t2d; no
 * embed_tokens, which the engines take from the target).
 */
public final class DraftExport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DraftExport() {}

    public static void write(String dir, Configuration conf, DraftConfig cfg, Map<String, NDArray> weights,
                             DraftVocab vocab, int[] auxIndices, int targetLayers, ServingEngine engine)
            throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        for (String name : DraftParams.shapes(cfg).keySet()) {
            w.addArray(name, weights.get(name), TensorDType.BF16);
        }
        w.addLongs(DraftVocab.D2T, new long[] {vocab.size()}, vocab.d2t());
        w.addBools(DraftVocab.T2D, vocab.t2d());
        Path out = new Path(dir);
        FileSystem fs = out.getFileSystem(conf);
        fs.mkdirs(out);
        try (OutputStream os = fs.create(new Path(out, "model.safetensors"), true)) {
            w.writeTo(new java.io.BufferedOutputStream(os, 1 << 20));
        }
        try (OutputStream os = fs.create(new Path(out, "config.json"), true)) {
            os.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(
                    config(cfg, auxIndices, targetLayers, engine)));
        }
    }

    static ObjectNode config(DraftConfig cfg, int[] aux, int targetLayers, ServingEngine engine) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLMEagle3");
        c.put("model_type", "llama");
        c.put("hidden_size", cfg.hiddenSize());
        c.put("intermediate_size", cfg.intermediateSize());
        c.put("num_attention_heads", cfg.numHeads());
        c.put("num_key_value_heads", cfg.numKvHeads());
        c.put("head_dim", cfg.headDim());
        c.put("num_hidden_layers", 1);
        c.put("hidden_act", "silu");
        c.put("rms_norm_eps", cfg.rmsNormEps());
        c.put("vocab_size", cfg.targetVocabSize());
        c.put("draft_vocab_size", cfg.draftVocabSize());
        c.put("target_hidden_size", cfg.targetHiddenSize());
        c.put("max_position_embeddings", cfg.maxPositionEmbeddings());
        RopeScaling r = cfg.rope();
        c.put("rope_theta", r.theta());
        if (r.type().equals("llama3")) {
            c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", r.factor())
                    .put("low_freq_factor", r.lowFreqFactor()).put("high_freq_factor", r.highFreqFactor())
                    .put("original_max_position_embeddings", r.originalMaxPositions());
        } else if (r.type().equals("linear")) {
            c.putObject("rope_scaling").put("rope_type", "linear").put("factor", r.factor());
        } else {
            c.putNull("rope_scaling");
        }
        c.put("tie_word_embeddings", false);
        c.put("torch_dtype", "bfloat16");
        ObjectNode eagle = c.putObject("eagle_config");
        eagle.put("use_aux_hidden_state", true);
        eagle.put("use_input_layernorm_in_first_layer", true);
        eagle.put("use_last_layernorm", true);
        eagle.put("use_mtp_layernorm", false);
        // Both engines default to hidden_states [2, L/2, L-3]: leave the ids out then, so one file
        // serves both; otherwise write them in the chosen engine's convention.
        boolean isDefault = Arrays.equals(aux, FeatureSettings.defaultAux(targetLayers));
        if (!isDefault) {
            ArrayNode ids = eagle.putArray("eagle_aux_hidden_state_layer_ids");
            for (int a : aux) {
                ids.add(engine.layerId(a));
            }
        }
        ObjectNode ours = c.putObject("eaglespark");
        ArrayNode hs = ours.putArray("aux_hidden_state_indices");
        for (int a : aux) {
            hs.add(a);
        }
        ours.put("aux_hidden_state_indices_note", "transformers hidden_states indices (0 = embeddings)");
        ours.put("layer_ids_convention", isDefault ? "omitted: both engines' default" : engine.name().toLowerCase());
        return c;
    }
}
