package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.Arrays;
import java.util.Objects;

/**
 * One decoder layer's weights as {@link LayerScript} takes them: q/k/v stacked into one matrix
 * (one GEMM) and gate/up into another (two GEMMs on its row halves, whose outputs are then
 * contiguous for SwiGLU). {@code qkvBias} (Qwen2) and {@code qNorm}/{@code kNorm}
 * (Qwen3's per-head norms) are null where the architecture has none.
 */
public record LayerWeights(NDArray inputNorm, NDArray qkv, NDArray qkvBias, NDArray o, NDArray qNorm,
                           NDArray kNorm, NDArray postNorm, NDArray gateUp, NDArray down) implements AutoCloseable {
    @Override
    public void close() {
        new NDList(Arrays.stream(new NDArray[] {inputNorm, qkv, qkvBias, o, qNorm, kNorm, postNorm, gateUp, down})
                .filter(Objects::nonNull).toArray(NDArray[]::new)).close();
    }
}
