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
        int kvHeads = optionalInt(c, "num_key_value_heads", heads, where);
        int headDim = optionalInt(c, "head_dim", hidden / heads, where);
        if (heads % kvHeads != 0) {
            throw new ModelLoadException(where + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        String act = text(c, "hidden_act");
        if (act != null && !act.equals("silu")) {
            throw new ModelLoadException(where + ": unsupported hidden_act " + act + " (only silu)");
        }
        boolean bias = arch.alwaysQkvBias() || bool(c, "attention_bias", false, where);
        int bos = c.hasNonNull("bos_token_id") ? tokenId(c.get("bos_token_id"), "bos_token_id", where) : -1;
        return new TargetConfig(arch, hidden, required(c, "intermediate_size", where),
                required(c, "num_hidden_layers", where), heads, kvHeads, headDim,
                required(c, "vocab_size", where), positive(c, "rms_norm_eps", 1e-6, where),
                rope(c, where), bool(c, "tie_word_embeddings", false, where), bias,
                optionalInt(c, "max_position_embeddings", 2048, where), bos,
                eosIds(c.get("eos_token_id"), where),
                c.hasNonNull("dtype") ? c.get("dtype").asText() : c.path("torch_dtype").asText("float32"));
    }

    private static RopeScaling rope(JsonNode c, String where) {
        JsonNode params = c.get("rope_parameters");
        double theta;
        JsonNode scaling;
        String scalingKey;
        if (params != null && params.isObject()) {
            theta = positive(params, "rope_theta", positive(c, "rope_theta", 10000, where), where + " rope_parameters");
            scaling = params;
            scalingKey = "rope_parameters";
        } else {
            theta = positive(c, "rope_theta", 10000, where);
            scaling = c.get("rope_scaling");
            scalingKey = "rope_scaling";
        }
        if (scaling == null || scaling.isNull()) {
            return RopeScaling.plain(theta);
        }
        String at = where + " " + scalingKey;
        String type = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText()
                : scaling.path("type").asText("default");
        switch (type) {
            case "default":
                return RopeScaling.plain(theta);
            case "linear":
                return new RopeScaling(type, theta, positive(scaling, "factor", 1, at), 0, 0, 0);
            case "llama3":
                return new RopeScaling(type, theta, positive(scaling, "factor", Double.NaN, at),
                        positive(scaling, "low_freq_factor", Double.NaN, at),
                        positive(scaling, "high_freq_factor", Double.NaN, at),
                        optionalInt(scaling, "original_max_position_embeddings", -1, at));
            default:
                throw new ModelLoadException(where + ": unsupported rope type " + type
                        + " (supported: default, linear, llama3)");
        }
    }

    private static List<Integer> eosIds(JsonNode n, String where) {
        List<Integer> ids = new ArrayList<>();
        if (n != null && n.isArray()) {
            n.forEach(x -> ids.add(tokenId(x, "eos_token_id", where)));
        } else if (n != null && !n.isNull()) {
            ids.add(tokenId(n, "eos_token_id", where));
        }
        return List.copyOf(ids);
    }

    private static int required(JsonNode c, String key, String where) {
        if (!c.hasNonNull(key)) {
            throw new ModelLoadException(where + ": missing " + key);
        }
        return positiveInt(c.get(key), key, where);
    }

    /** The key's positive integer, {@code dflt} if absent or null (a required value when dflt is -1). */
    private static int optionalInt(JsonNode c, String key, int dflt, String where) {
        if (!c.hasNonNull(key)) {
            if (dflt < 0) {
                throw new ModelLoadException(where + ": missing " + key);
            }
            return dflt;
        }
        return positiveInt(c.get(key), key, where);
    }

    /** A positive integer: a JSON number with no fraction ({@code 6.5} or {@code "6"} are refused, not rounded). */
    private static int positiveInt(JsonNode v, String key, String where) {
        if (!isInteger(v) || v.asLong() <= 0 || v.asLong() > Integer.MAX_VALUE) {
            throw new ModelLoadException(where + ": " + key + " must be a positive integer, got " + v);
        }
        return v.asInt();
    }

    private static int tokenId(JsonNode v, String key, String where) {
        if (!isInteger(v) || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
            throw new ModelLoadException(where + ": " + key + " must be a token id (an integer >= 0), got " + v);
        }
        return v.asInt();
    }

    private static boolean isInteger(JsonNode v) {
        return v.isIntegralNumber() || (v.isFloatingPointNumber() && Double.isFinite(v.asDouble())
                && v.asDouble() == Math.rint(v.asDouble()));
    }

    /**
     * The key's number, {@code dflt} if absent or null (required when dflt is NaN); a string, a
     * NaN, an infinity, zero or a negative value is refused (an epsilon of -1 gives NaN losses).
     */
    private static double positive(JsonNode c, String key, double dflt, String where) {
        if (!c.hasNonNull(key)) {
            if (Double.isNaN(dflt)) {
                throw new ModelLoadException(where + ": missing " + key);
            }
            return dflt;
        }
        JsonNode v = c.get(key);
        double d = v.asDouble();
        if (!v.isNumber() || !Double.isFinite(d) || d <= 0) {
            throw new ModelLoadException(where + ": " + key + " must be a positive finite number, got " + v);
        }
        return d;
    }

    private static boolean bool(JsonNode c, String key, boolean dflt, String where) {
        if (!c.hasNonNull(key)) {
            return dflt;
        }
        if (!c.get(key).isBoolean()) {
            throw new ModelLoadException(where + ": " + key + " must be true or false, got " + c.get(key));
        }
        return c.get(key).asBoolean();
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
