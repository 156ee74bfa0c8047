package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.Map;

/**
 * Outputs of a forward pass, owned by the caller's manager. Absent entries are null.
 *
 * @param hidden requested hidden states by transformers' index, each [B, T, H]
 * @param lastHidden output of the last layer before the final norm, [B, T, H]
 * @param normedHidden the same after the final norm (transformers' hidden_states[L])
 * @param logits [B, T, V] in fp32
 */
public record ForwardResult(Map<Integer, NDArray> hidden, NDArray lastHidden, NDArray normedHidden, NDArray logits) {

    /** The aux hidden states side by side, [B, T, aux.length * H]: what an EAGLE-3 draft reads. */
    public NDArray fusedAux(int[] aux) {
        NDList parts = new NDList();
        for (int i : aux) {
            parts.add(hidden.get(i));
        }
        return Ops.concat(parts, 2);
    }
}
