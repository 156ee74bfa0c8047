package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/** One Llama/Qwen decoder layer's weights and its forward pass. */
public final class DecoderLayer implements AutoCloseable {
    private final TargetConfig cfg;
    private final NDArray inputNorm;
    /** q, k and v projections stacked into one matrix: one GEMM instead of three. */
    private final NDArray qkv;
    private final NDArray qkvBias;
    private final NDArray o;
    private final NDArray qNorm, kNorm;
    private final NDArray postNorm;
    /** gate and up projections stacked: one GEMM for both halves of SwiGLU. */
    private final NDArray gateUp;
    private final NDArray down;
    private final long[] qkvSplit;
    private final LayerScript script;

    DecoderLayer(TargetConfig cfg, WeightSource w, int index, LayerScript script) {
        this.cfg = cfg;
        String p = "model.layers." + index + ".";
        long h = cfg.hiddenSize();
        long qDim = (long) cfg.numHeads() * cfg.headDim();
        long kvDim = (long) cfg.numKvHeads() * cfg.headDim();
        qkvSplit = new long[] {qDim, qDim + kvDim};
        inputNorm = w.load(p + "input_layernorm.weight", h);
        qkv = stacked(w.load(p + "self_attn.q_proj.weight", qDim, h), w.load(p + "self_attn.k_proj.weight", kvDim, h),
                w.load(p + "self_attn.v_proj.weight", kvDim, h));
        qkvBias = cfg.qkvBias() ? stacked(w.load(p + "self_attn.q_proj.bias", qDim),
                w.load(p + "self_attn.k_proj.bias", kvDim), w.load(p + "self_attn.v_proj.bias", kvDim)) : null;
        o = w.load(p + "self_attn.o_proj.weight", h, qDim);
        if (cfg.architecture().qkNorm()) {
            qNorm = w.load(p + "self_attn.q_norm.weight", cfg.headDim());
            kNorm = w.load(p + "self_attn.k_norm.weight", cfg.headDim());
        } else {
            qNorm = kNorm = null;
        }
        postNorm = w.load(p + "post_attention_layernorm.weight", h);
        gateUp = stacked(w.load(p + "mlp.gate_proj.weight", cfg.intermediateSize(), h),
                w.load(p + "mlp.up_proj.weight", cfg.intermediateSize(), h));
        down = w.load(p + "mlp.down_proj.weight", h, cfg.intermediateSize());
        this.script = script;
    }

    private static NDArray stacked(NDArray... parts) {
        NDList list = new NDList(parts);
        NDArray joined = NDArrays.concat(list, 0);
        list.close();
        return joined;
    }

    /**
     * @param x [B, T, H]; cos/sin broadcastable to [B, 1, T, d] (with a null bias, sin has
     *     rotate_half's sign folded in: {@link RopeCache}); bias additive attention bias over all
     *     keys (cached ones first), or null for plain causal attention over right-padded
     *     sequences without cached keys (the whole layer then runs as one {@link LayerScript}
     *     call); cache null, or the cache to extend (always with a bias)
     * @return the layer output [B, T, H], in x's manager
     */
    NDArray forward(NDArray x, NDArray cos, NDArray sin, NDArray bias, KvCache cache, int index) {
        if (bias == null) {
            if (cache != null) {
                throw new IllegalArgumentException("extending a KV cache needs an attention bias");
            }
            return script.forward(x, cos, sin, inputNorm, qkv, qkvBias, o, qNorm, kNorm, postNorm, gateUp, down);
        }
        NDArray normed = Ops.rmsNorm(x, inputNorm, cfg.rmsNormEps());
        NDList parts = Ops.linear(normed, qkv, qkvBias).split(qkvSplit, 2);
        NDArray queries = Ops.applyRope(heads(parts.get(0), cfg.numHeads(), qNorm), cos, sin);
        NDArray keys = Ops.applyRope(heads(parts.get(1), cfg.numKvHeads(), kNorm), cos, sin);
        NDArray values = heads(parts.get(2), cfg.numKvHeads(), null);
        if (cache != null) {
            NDList kv = cache.append(index, keys, values, x.getManager());
            keys = kv.get(0);
            values = kv.get(1);
        }
        NDArray attended = Attention.attend(queries, keys, values, bias);
        NDArray h = x.add(Ops.linear(attended, o));
        return h.add(Ops.swiglu(Ops.rmsNorm(h, postNorm, cfg.rmsNormEps()), gateUp, down));
    }

    /** [B, T, n*d] to [B, n, T, d], with Qwen3's per-head RMSNorm when present. */
    private NDArray heads(NDArray x, int n, NDArray headNorm) {
        long[] s = x.getShape().getShape();
        NDArray split = x.reshape(s[0], s[1], n, cfg.headDim());
        if (headNorm != null) {
            split = Ops.rmsNorm(split, headNorm, cfg.rmsNormEps());
        }
        return split.transpose(0, 2, 1, 3);
    }

    @Override
    public void close() {
        new NDList(nonNull(inputNorm, qkv, qkvBias, o, qNorm, kNorm, postNorm, gateUp, down)).close();
    }

    private static NDArray[] nonNull(NDArray... arrays) {
        return java.util.Arrays.stream(arrays).filter(java.util.Objects::nonNull).toArray(NDArray[]::new);
    }
}
