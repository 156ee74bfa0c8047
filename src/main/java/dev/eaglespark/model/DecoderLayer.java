package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;

/** One Llama/Qwen decoder layer's weights and its forward pass. */
public final class DecoderLayer implements AutoCloseable {
    private final TargetConfig cfg;
    private final LayerWeights weights;
    private final LayerScript script;

    DecoderLayer(TargetConfig cfg, WeightSource w, int index, LayerScript script) {
        this.cfg = cfg;
        String p = "model.layers." + index + ".";
        long h = cfg.hiddenSize();
        long qDim = (long) cfg.numHeads() * cfg.headDim();
        long kvDim = (long) cfg.numKvHeads() * cfg.headDim();
        boolean qkNorm = cfg.architecture().qkNorm();
        weights = new LayerWeights(w.load(p + "input_layernorm.weight", h),
                stacked(w.load(p + "self_attn.q_proj.weight", qDim, h), w.load(p + "self_attn.k_proj.weight", kvDim, h),
                        w.load(p + "self_attn.v_proj.weight", kvDim, h)),
                cfg.qkvBias() ? stacked(w.load(p + "self_attn.q_proj.bias", qDim),
                        w.load(p + "self_attn.k_proj.bias", kvDim), w.load(p + "self_attn.v_proj.bias", kvDim)) : null,
                w.load(p + "self_attn.o_proj.weight", h, qDim),
                qkNorm ? w.load(p + "self_attn.q_norm.weight", cfg.headDim()) : null,
                qkNorm ? w.load(p + "self_attn.k_norm.weight", cfg.headDim()) : null,
                w.load(p + "post_attention_layernorm.weight", h),
                stacked(w.load(p + "mlp.gate_proj.weight", cfg.intermediateSize(), h),
                        w.load(p + "mlp.up_proj.weight", cfg.intermediateSize(), h)),
                w.load(p + "mlp.down_proj.weight", h, cfg.intermediateSize()));
        this.script = script;
    }

    /** Stacked rows (q/k/v, gate/up), one tensor per layer's projection group. */
    private static NDArray stacked(NDArray... parts) {
        NDList list = new NDList(parts);
        NDArray joined = NDArrays.concat(list, 0);
        list.close();
        return joined;
    }

    /**
     * @param x [B, T, H]
     * @param cos cos broadcastable to [B, 1, T, d]
     * @param sinSigned sin likewise, with rotate_half's sign folded in ({@link RotaryEmbedding#table})
     * @param bias null, for causal attention over right-padded sequences without cached keys; or
     *     the additive attention bias [B or 1, 1, 1, T, positions] over the cached keys followed by
     *     these T, with {@code cache} the cache to extend
     * @return the layer output [B, T, H], in x's manager; either way one {@link LayerScript} call
     */
    NDArray forward(NDArray x, NDArray cos, NDArray sinSigned, NDArray bias, KvCache cache, int index) {
        if ((bias == null) != (cache == null)) {
            throw new IllegalArgumentException("a KV cache and an attention bias go together");
        }
        if (bias == null) {
            return script.forward(x, cos, sinSigned, weights);
        }
        long[] s = x.getShape().getShape();
        long positions = bias.getShape().get(bias.getShape().dimension() - 1);
        if (positions != cache.length(index) + s[1]) { // the script writes this step before the bias's last position
            throw new IllegalArgumentException("the attention bias covers " + positions + " positions, the cache "
                    + cache.length(index) + " and the step " + s[1]);
        }
        NDList buffers = cache.reserve(index, new Shape(s[0], cfg.numKvHeads(), s[1], cfg.headDim()), x.getDataType());
        return script.forwardCached(x, cos, sinSigned, bias, buffers.get(0), buffers.get(1), weights);
    }

    LayerWeights weights() {
        return weights;
    }

    @Override
    public void close() {
        weights.close();
    }
}
