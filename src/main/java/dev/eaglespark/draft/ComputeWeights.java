package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * The weights a training forward reads and where their gradients come from: the fp32 masters
 * themselves ({@link MasterWeights}), or fp16 copies of them made every update
 * ({@link HalfWeights}). Per update: {@link #beginUpdate}, forward and backward of each
 * micro-batch followed by {@link #afterBackward}, {@link #gradients}, {@link #endUpdate}.
 */
public interface ComputeWeights extends AutoCloseable {
    /** For the masters in {@code precision} (resolved: FP16 or FP32). */
    static ComputeWeights of(DraftParams masters, Precision precision) {
        return precision == Precision.FP16 ? new HalfWeights(masters) : new MasterWeights(masters);
    }

    /** What the draft computes with. */
    DraftParams params();

    void beginUpdate();

    /**
     * After each micro-batch's backward; {@code unscale} (1 / the loss scale, the same for every
     * micro-batch of an update) multiplies what the gradients hold.
     */
    void afterBackward(float unscale);

    /**
     * The update's fp32 gradients by trainable name, in the masters' order, unscaled; the caller
     * closes them (the map may get new arrays in their place).
     */
    Map<String, NDArray> gradients();

    /** After the optimizer: nothing of this update's gradients may carry over. */
    void endUpdate();

    @Override
    void close();
}
