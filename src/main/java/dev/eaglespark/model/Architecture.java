package dev.eaglespark.model;

import java.util.Arrays;
import java.util.Locale;

/** The target families the forward pass implements; they differ only in the attention block. */
public enum Architecture {
    /** Llama 2/3/3.1 (also stories15M): plain q/k/v, optional attention_bias. */
    LLAMA("LlamaForCausalLM", "llama", false, false),
    /** Qwen2: biases on q/k/v always. */
    QWEN2("Qwen2ForCausalLM", "qwen2", true, false),
    /** Qwen3: per-head RMSNorm on q and k before rope; head_dim independent of hidden/heads. */
    QWEN3("Qwen3ForCausalLM", "qwen3", false, true);

    private final String hfClass;
    private final String modelType;
    private final boolean qkvBias;
    private final boolean qkNorm;

    Architecture(String hfClass, String modelType, boolean qkvBias, boolean qkNorm) {
        this.hfClass = hfClass;
        this.modelType = modelType;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    public String hfClass() {
        return hfClass;
    }

    public boolean alwaysQkvBias() {
        return qkvBias;
    }

    public boolean qkNorm() {
        return qkNorm;
    }

    /** From config.json's first {@code architectures} entry, else its {@code model_type}. */
    public static Architecture from(String hfClassOrNull, String modelTypeOrNull) {
        for (Architecture a : values()) {
            if (a.hfClass.equals(hfClassOrNull)) {
                return a;
            }
        }
        if (hfClassOrNull == null && modelTypeOrNull != null) {
            for (Architecture a : values()) {
                if (a.modelType.equals(modelTypeOrNull.toLowerCase(Locale.ROOT))) {
                    return a;
                }
            }
        }
        throw new ModelLoadException("unsupported architecture "
                + (hfClassOrNull != null ? hfClassOrNull : "model_type=" + modelTypeOrNull)
                + "; supported: " + Arrays.toString(Arrays.stream(values()).map(a -> a.hfClass).toArray()));
    }
}
