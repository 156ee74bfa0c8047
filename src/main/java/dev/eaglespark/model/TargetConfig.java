package dev.eaglespark.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A target model's config.json, read in both layouts found in the wild: {@code rope_theta} +
 * {@code rope_scaling} (most published checkpoints) and transformers 5's {@code rope_parameters}.
 */
public record TargetConfig(
        Architecture architecture,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        double rmsNormEps,
        RopeScaling rope,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        int maxPositionEmbeddings,
        int bosTokenId,
        List<Integer> eosTokenIds,
        String checkpointDtype) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static TargetConfig load(Path configJson) {
        try {
            return parse(JSON.readTree(Files.readString(configJson)), configJson.toString());
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("missing config.json: " + configJson);
        } catch (IOException e) {
            throw new ModelLoadException(configJson + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    public static TargetConfig parse(JsonNode c, String where) {
        if (c == null || !c.isObject()) {
            throw new ModelLoadException(where + ": config is not a JSON object");
        }
        String hfClass = c.has("architectures") && c.get("architectures").size() > 0
                ? c.get("architectures").get(0).asText() : null;
        Architecture arch = Architecture.from(hfClass, text(c, "model_type"));
        int hidden = required(c, "hidden_size", where);
        int heads = required(c, "num_attention_heads", where);
        int kvHeads = c.hasNonNull("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        if (heads % kvHeads != 0) {
            throw new ModelLoadException(where + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        String act = text(c, "hidden_act");
        if (act != null && !act.equals("silu")) {
            throw new ModelLoadException(where + ": unsupported hidden_act " + act + " (only silu)");
        }
        boolean bias = arch.alwaysQkvBias() || c.path("attention_bias").asBoolean(false);
        return new TargetConfig(arch, hidden, required(c, "intermediate_size", where),
                required(c, "num_hidden_layers", where), heads, kvHeads, headDim,
                required(c, "vocab_size", where), c.path("rms_norm_eps").asDouble(1e-6),
                rope(c, where), c.path("tie_word_embeddings").asBoolean(false), bias,
                c.path("max_position_embeddings").asInt(2048), c.path("bos_token_id").asInt(-1),
                eosIds(c.get("eos_token_id")),
                c.hasNonNull("dtype") ? c.get("dtype").asText() : c.path("torch_dtype").asText("float32"));
    }

    private static RopeScaling rope(JsonNode c, String where) {
        JsonNode params = c.get("rope_parameters");
        double theta;
        JsonNode scaling;
        if (params != null && params.isObject()) {
            theta = params.path("rope_theta").asDouble(c.path("rope_theta").asDouble(10000));
            scaling = params;
        } else {
            theta = c.path("rope_theta").asDouble(10000);
            scaling = c.get("rope_scaling");
        }
        if (scaling == null || scaling.isNull()) {
            return RopeScaling.plain(theta);
        }
        String type = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText()
                : scaling.path("type").asText("default");
        switch (type) {
            case "default":
                return RopeScaling.plain(theta);
            case "linear":
                return new RopeScaling(type, theta, scaling.path("factor").asDouble(1), 0, 0, 0);
            case "llama3":
                return new RopeScaling(type, theta, scaling.path("factor").asDouble(),
                        scaling.path("low_freq_factor").asDouble(), scaling.path("high_freq_factor").asDouble(),
                        scaling.path("original_max_position_embeddings").asInt());
            default:
                throw new ModelLoadException(where + ": unsupported rope type " + type
                        + " (supported: default, linear, llama3)");
        }
    }

    private static List<Integer> eosIds(JsonNode n) {
        List<Integer> ids = new ArrayList<>();
        if (n != null && n.isArray()) {
            n.forEach(x -> ids.add(x.asInt()));
        } else if (n != null && n.isNumber()) {
            ids.add(n.asInt());
        }
        return List.copyOf(ids);
    }

    private static int required(JsonNode c, String key, String where) {
        if (!c.hasNonNull(key) || !c.get(key).canConvertToInt() || c.get(key).asInt() <= 0) {
            throw new ModelLoadException(where + ": missing or invalid " + key);
        }
        return c.get(key).asInt();
    }

    private static String text(JsonNode c, String key) {
        return c.hasNonNull(key) ? c.get(key).asText() : null;
    }

    /**
     * The precision transformers holds rope's inverse frequencies in when the model runs in its
     * checkpoint dtype: the {@code inv_freq} buffer is cast with the model, so a bf16 checkpoint
     * rotates with bf16-rounded frequencies. Reproducing it makes features match transformers
     * (and trainers that run the target through it) bit for bit in fp32.
     */
    public RopePrecision checkpointRopePrecision() {
        return switch (checkpointDtype) {
            case "bfloat16" -> RopePrecision.BF16;
            case "float16" -> RopePrecision.FP16;
            default -> RopePrecision.FP32;
        };
    }

    public int kvGroups() {
        return numHeads / numKvHeads;
    }
}
