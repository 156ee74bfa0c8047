package dev.eaglespark.features;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.io.Digests;
import dev.eaglespark.model.TargetConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

/**
 * The facts of a features run, written next to the Parquet files as {@code _manifest.json}:
 * which target, tokenizer and template made them, which layers, dtype, sizes and counts. The
 * training stage checks it against its own target before using the data.
 */
public final class FeatureManifest {
    public static final String FILE = "_manifest.json";
    public static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private FeatureManifest() {}

    /**
     * @param files the target's small files by name (config.json, tokenizer.json,
     *     tokenizer_config.json; absent ones missing), read wherever the model lives
     */
    public static ObjectNode build(String modelName, TargetConfig cfg, Map<String, byte[]> files, FeatureSettings s,
                                   int[] aux, Map<String, Long> counts, Map<String, Long> rejects) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format", "eaglespark-features");
        m.put("format_version", FORMAT_VERSION);
        m.put("created", Instant.now().toString());
        ObjectNode target = m.putObject("target");
        target.put("model", modelName);
        target.put("model_path", s.modelDir());
        target.put("architecture", cfg.architecture().hfClass());
        target.put("config_sha256", sha256(files.get("config.json")));
        target.put("tokenizer_sha256", sha256(files.get("tokenizer.json")));
        target.put("num_layers", cfg.numLayers());
        target.put("hidden_size", cfg.hiddenSize());
        target.put("vocab_size", cfg.vocabSize());
        ObjectNode template = m.putObject("template");
        template.put("source", s.templateText() != null ? "override" : "model");
        template.put("sha256", sha256(s.templateText() != null ? s.templateText().getBytes(StandardCharsets.UTF_8)
                : files.get("tokenizer_config.json")));
        var auxNode = m.putArray("aux_layer_ids");
        for (int a : aux) {
            auxNode.add(a);
        }
        m.put("aux_layer_ids_note", "transformers hidden_states indices: 0 = embeddings, i = output of layer i-1");
        m.put("dtype", "float16");
        m.put("byte_order", "little-endian");
        m.put("aux_hidden_shape", "[T, " + aux.length * cfg.hiddenSize() + "]");
        m.put("last_hidden_shape", "[T, " + cfg.hiddenSize() + "]");
        m.put("max_length", s.maxLength());
        m.put("truncation", s.truncation().name().toLowerCase(java.util.Locale.ROOT));
        ObjectNode c = m.putObject("counts");
        counts.forEach(c::put);
        ObjectNode r = m.putObject("rejects");
        rejects.forEach(r::put);
        return m;
    }

    public static byte[] toBytes(ObjectNode manifest) throws IOException {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest);
    }

    private static String sha256(byte[] bytes) throws IOException {
        return bytes == null ? "absent"
                : Digests.of(new java.io.ByteArrayInputStream(bytes), Long.MAX_VALUE, "SHA-256");
    }
}
