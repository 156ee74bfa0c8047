package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/** One Llama/Qwen decoder layer's weights and its forward pass. */
public final class DecoderLayer implements AutoCloseable {
    private final TargetConfig cfg;
    private final NDArray inputNorm;
    private final NDArray q, k, v, o;
    private final NDArray qBias, kBias, vBias;
    private final NDArray qNorm, kNorm;
    private final NDArray postNorm;
    private final NDArray gate, up, down;

    DecoderLayer(TargetConfig cfg, WeightLoader w, int index) {
        this.cfg = cfg;
        String p = "model.layers." + index + ".";
        long h = cfg.hiddenSize();
        long qDim = (long) cfg.numHeads() * cfg.headDim();
        long kvDim = (long) cfg.numKvHeads() * cfg.headDim();
        inputNorm = w.load(p + "input_layernorm.weight", h);
        q = w.load(p + "self_attn.q_proj.weight", qDim, h);
        k = w.load(p + "self_attn.k_proj.weight", kvDim, h);
        v = w.load(p + "self_attn.v_proj.weight", kvDim, h);
        o = w.load(p + "self_attn.o_proj.weight", h, qDim);
        if (cfg.qkvBias()) {
            qBias = w.load(p + "self_attn.q_proj.bias", qDim);
            kBias = w.load(p + "self_attn.k_proj.bias", kvDim);
            vBias = w.load(p + "self_attn.v_proj.bias", kvDim);
        } else {
            qBias = kBias = vBias = null;
        }
        if (cfg.architecture().qkNorm()) {
            qNorm = w.load(p + "self_attn.q_norm.weight", cfg.headDim());
            kNorm = w.load(p + "self_attn.k_norm.weight", cfg.headDim());
        } else {
            qNorm = kNorm = null;
        }
        postNorm = w.load(p + "post_attention_layernorm.weight", h);
        gate = w.load(p + "mlp.gate_proj.weight", cfg.intermediateSize(), h);
        up = w.load(p + "mlp.up_proj.weight", cfg.intermediateSize(), h);
        down = w.load(p + "mlp.down_proj.weight", h, cfg.intermediateSize());
    }

    /**
     * @param x [B, T, H]; cos/sin broadcastable to [B, 1, T, d]; bias additive attention bias over
     *     all keys (cached ones first); cache null, or the cache to extend with this step's keys
     * @return the layer output [B, T, H], in x's manager
     */
    NDArray forward(NDArray x, NDArray cos, NDArray sin, NDArray bias, KvCache cache, int index) {
        NDArray normed = Ops.rmsNorm(x, inputNorm, cfg.rmsNormEps());
        NDArray queries = Ops.applyRope(heads(Ops.linear(normed, q, qBias), cfg.numHeads(), qNorm), cos, sin);
        NDArray keys = Ops.applyRope(heads(Ops.linear(normed, k, kBias), cfg.numKvHeads(), kNorm), cos, sin);
        NDArray values = heads(Ops.linear(normed, v, vBias), cfg.numKvHeads(), null);
        if (cache != null) {
            NDList kv = cache.append(index, keys, values, x.getManager());
            keys = kv.get(0);
            values = kv.get(1);
        }
        NDArray h = x.add(Ops.linear(Attention.attend(queries, keys, values, bias), o));
        return h.add(Ops.swiglu(Ops.rmsNorm(h, postNorm, cfg.rmsNormEps()), gate, up, down));
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
        new NDList(nonNull(inputNorm, q, k, v, o, qBias, kBias, vBias, qNorm, kNorm, postNorm, gate, up, down)).close();
    }

    private static NDArray[] nonNull(NDArray... arrays) {
        return java.util.Arrays.stream(arrays).filter(java.util.Objects::nonNull).toArray(NDArray[]::new);
    }
}
