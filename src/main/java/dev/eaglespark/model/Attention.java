package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Scaled dot-product attention with grouped KV heads. Queries are viewed as
 * [B, kvHeads, groups*T, d] so each KV head serves its whole group in one GEMM without copying
 * keys or values (no repeat_kv). In fp16 the scores stay fp16: PyTorch's softmax accumulates in
 * fp32 inside the kernel, so an fp32 copy of the [B, H, T, T] scores would only cost memory traffic.
 */
public final class Attention {
    /** Additive bias for masked keys in fp32: large but finite, so a fully masked row never makes NaN. */
    public static final float MASKED = -1e30f;
    /** The same in fp16: its most negative finite value. */
    public static final float MASKED_FP16 = -65504f;

    private Attention() {}

    /**
     * @param q [B, heads, Tq, d], already rotated
     * @param k [B, kvHeads, Tk, d]
     * @param v [B, kvHeads, Tk, d]
     * @param bias additive bias broadcastable to [B, 1, 1, Tq, Tk], in q's dtype
     * @return [B, Tq, heads*d]
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, NDArray bias) {
        long[] qs = q.getShape().getShape();
        long b = qs[0], heads = qs[1], tq = qs[2], d = qs[3];
        long kvHeads = k.getShape().get(1);
        long tk = k.getShape().get(2);
        long groups = heads / kvHeads;
        // A KV head's query group is folded into the row axis: plain batched GEMMs, K and V never copied.
        NDArray q4 = Ops.scale(q, (float) (1.0 / Math.sqrt(d))).reshape(b, kvHeads, groups * tq, d);
        NDArray scores = q4.matMul(k.transpose(0, 1, 3, 2)).reshape(b, kvHeads, groups, tq, tk);
        NDArray probs = scores.add(bias).softmax(-1).reshape(b, kvHeads, groups * tq, tk);
        NDArray out = probs.matMul(v); // [B, kv, g*Tq, d]
        return out.reshape(b, heads, tq, d).transpose(0, 2, 1, 3).reshape(b, tq, heads * d);
    }

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
