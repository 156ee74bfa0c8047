package dev.eaglespark.export;

import java.util.Locale;

/**
 * How a serving engine reads {@code eagle_config.eagle_aux_hidden_state_layer_ids}: SGLang
 * captures hidden_states[id + 1], vLLM hidden_states[id] (transformers' numbering: 0 is the
 * embedding output). Both default to hidden_states [2, L/2, L-3] when the field is absent.
 */
public enum ServingEngine {
    SGLANG(1), VLLM(0);

    private final int offset;

    ServingEngine(int offset) {
        this.offset = offset;
    }

    /** The id to write for a transformers hidden-state index. */
    public int layerId(int hiddenStateIndex) {
        return hiddenStateIndex - offset;
    }

    public static ServingEngine parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("engine must be sglang or vllm, got '" + s + "'");
        }
    }
}
