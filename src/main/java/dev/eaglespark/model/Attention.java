package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The additive attention biases that the layer and draft scripts take: causal with key padding
 * for full sequences, causal after a KV cache for steps that extend one.
 */
public final class Attention {
    /** Additive bias for masked keys in fp32: large but finite, so a fully masked row never makes NaN. */
    public static final float MASKED = -1e30f;
    /** The same in fp16: its most negative finite value. */
    public static final float MASKED_FP16 = -65504f;

    private Attention() {}

    /**
     * Causal bias with key padding: [B, 1, 1, T, T] in {@code dtype}, 0 where query t may see key s,
     * else the masked value. Built on the device from two small vectors; a host-side table would
     * be B*T*T floats.
     */
    public static NDArray causalBias(NDManager manager, long[] lengths, int t, DataType dtype) {
        NDArray pos = manager.arange(0, t, 1, DataType.INT64);
        NDArray causal = pos.expandDims(1).gte(pos.expandDims(0)); // [T, T]: key s <= query t
        NDArray keyValid = pos.expandDims(0).lt(manager.create(lengths).expandDims(1)); // [B, T]
        NDArray visible = causal.expandDims(0).logicalAnd(keyValid.expandDims(1)); // [B, T, T]
        return bias(visible, dtype).reshape(lengths.length, 1, 1, t, t);
    }

    /**
     * One sequence's n new tokens after {@code start} cached positions: [1, 1, 1, n, start + n],
     * new token i seeing every key up to position start + i.
     */
    public static NDArray afterCacheBias(NDManager manager, long start, int n, DataType dtype) {
        NDArray query = manager.arange(0, n, 1, DataType.INT64).add(start).expandDims(1);
        NDArray key = manager.arange(0, (int) (start + n), 1, DataType.INT64).expandDims(0);
        return bias(key.lte(query), dtype).reshape(1, 1, 1, n, start + n);
    }

    /** (visible - 1) * -masked: 0 where visible, masked elsewhere (DJL's where does not broadcast). */
    private static NDArray bias(NDArray visible, DataType dtype) {
        return visible.toType(dtype, false).sub(1f).mul(-masked(dtype));
    }

    /** The additive bias of a masked key in {@code dtype}. */
    public static float masked(DataType dtype) {
        return dtype == DataType.FLOAT16 ? MASKED_FP16 : MASKED;
    }
}
