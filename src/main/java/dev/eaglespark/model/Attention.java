package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Scaled dot-product attention with grouped KV heads. Queries are viewed as
 * [B, kvHeads, groups*T, d] so each KV head serves its whole group in one GEMM without copying
 * keys or values (no repeat_kv). Scores are softmaxed in fp32.
 */
public final class Attention {
    /** Additive bias for masked keys: large but finite, so a fully masked row never makes NaN. */
    public static final float MASKED = -1e30f;

    private Attention() {}

    /**
     * @param q [B, heads, Tq, d], already rotated
     * @param k [B, kvHeads, Tk, d]
     * @param v [B, kvHeads, Tk, d]
     * @param bias fp32 additive bias broadcastable to [B, 1, 1, Tq, Tk]
     * @return [B, Tq, heads*d]
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, NDArray bias) {
        long[] qs = q.getShape().getShape();
        long b = qs[0], heads = qs[1], tq = qs[2], d = qs[3];
        long kvHeads = k.getShape().get(1);
        long tk = k.getShape().get(2);
        long groups = heads / kvHeads;
        // A KV head's query group is folded into the row axis: plain batched GEMMs, K and V never copied.
        NDArray q4 = q.mul(1.0 / Math.sqrt(d)).reshape(b, kvHeads, groups * tq, d);
        NDArray scores = q4.matMul(k.transpose(0, 1, 3, 2)).reshape(b, kvHeads, groups, tq, tk);
        if (scores.getDataType() != DataType.FLOAT32) {
            scores = scores.toType(DataType.FLOAT32, false);
        }
        NDArray probs = scores.add(bias).softmax(-1).toType(v.getDataType(), false)
                .reshape(b, kvHeads, groups * tq, tk);
        NDArray out = probs.matMul(v); // [B, kv, g*Tq, d]
        return out.reshape(b, heads, tq, d).transpose(0, 2, 1, 3).reshape(b, tq, heads * d);
    }

    /**
     * Causal bias with key padding: [B, 1, 1, T, T], 0 where query t may see key s, else MASKED.
     * Built on the device from two small vectors; a host-side table would be B*T*T floats.
     */
    public static NDArray causalBias(NDManager manager, long[] lengths, int t) {
        NDArray pos = manager.arange(0, t, 1, DataType.INT64);
        NDArray causal = pos.expandDims(1).gte(pos.expandDims(0)); // [T, T]: key s <= query t
        NDArray keyValid = pos.expandDims(0).lt(manager.create(lengths).expandDims(1)); // [B, T]
        NDArray visible = causal.expandDims(0).logicalAnd(keyValid.expandDims(1)); // [B, T, T]
        // (visible - 1) * -MASKED: 0 where visible, MASKED elsewhere (DJL's where does not broadcast).
        return visible.toType(DataType.FLOAT32, false).sub(1f).mul(-MASKED).reshape(lengths.length, 1, 1, t, t);
    }
}
