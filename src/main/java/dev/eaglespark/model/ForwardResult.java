package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Outputs of a forward pass, owned by the caller's manager. Absent entries are null.
 *
 * @param hidden requested hidden states by transformers' index, each [B, T, H]
 * @param lastHidden output of the last layer before the final norm, [B, T, H]
 * @param normedHidden the same after the final norm (transformers' hidden_states[L])
 * @param logits [B, T, V] in fp32
 */
public record ForwardResult(Map<Integer, NDArray> hidden, NDArray lastHidden, NDArray normedHidden, NDArray logits) {}
