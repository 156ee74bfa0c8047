package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.SparseFormat;
import dev.eaglespark.model.Attention;
import dev.eaglespark.model.KvCache;
import dev.eaglespark.model.Ops;
import java.util.List;

/**
 * The EAGLE-3 draft's forward pieces. One step: the decoder layer reads
 * concat(input_layernorm(embed(ids)), hidden_norm(h)) with h as the residual; its keys and
 * values join the step caches. Attention of step k: causal over step 0's keys, plus each
 * position's own keys of steps 1..k (the train-time-test pattern).
 */
public final class Eagle3Draft {
    private final DraftConfig cfg;
    private final DraftParams p;

    public Eagle3Draft(DraftConfig cfg, DraftParams params) {
        this.cfg = cfg;
        this.p = params;
    }

    public DraftConfig config() {
        return cfg;
    }

    /** A weight by its serving name, as this draft computes with it. */
    public NDArray weight(String name) {
        return p.get(name);
    }

    /** fc over the fused aux states: [B, T, 3Ht] to the draft's first hidden state [B, T, H]. */
    public NDArray project(NDArray aux) {
        return Ops.linear(aux, p.get("fc.weight"));
    }

    /** Frozen target embeddings of ids [B, T]. */
    public NDArray embed(NDArray ids) {
        return ids.getNDArrayInternal().embedding(ids, p.get(DraftParams.EMBED), SparseFormat.DENSE).singletonOrThrow();
    }

    /**
     * One decoder step.
     *
     * @param cos, sin [T, d] at this step's positions
     * @param bias additive [B, 1, 1, T, T] for the step-0 keys (causal and padding)
     * @param keys, values rotated keys and values of earlier steps [B, kv, T, d]; this step's are appended
     */
    public NDArray step(NDArray embeds, NDArray h, NDArray cos, NDArray sin, NDArray bias, List<NDArray> keys,
                        List<NDArray> values) {
        NDList qkv = projections(embeds, h, cos, sin);
        keys.add(qkv.get(1));
        values.add(qkv.get(2));
        return finish(h, tttAttention(qkv.get(0), keys, values, bias));
    }

    /**
     * Step 0 over new positions at inference: plain causal attention over the cached step-0
     * keys and values plus the new ones, which are appended to {@code cache} (its one layer).
     *
     * @param bias additive [1, 1, 1, new, cached + new]
     */
    public NDArray extend(NDArray embeds, NDArray h, NDArray cos, NDArray sin, NDArray bias, KvCache cache) {
        NDList qkv = projections(embeds, h, cos, sin);
        NDList kv = cache.append(0, qkv.get(1), qkv.get(2), h.getManager());
        return finish(h, Attention.attend(qkv.get(0), kv.get(0), kv.get(1), bias));
    }

    /** Rotated queries, keys and values of concat(input_layernorm(embeds), hidden_norm(h)). */
    private NDList projections(NDArray embeds, NDArray h, NDArray cos, NDArray sin) {
        double eps = cfg.rmsNormEps();
        NDArray x = NDArrays.concat(new NDList(Ops.rmsNorm(embeds, p.get("midlayer.input_layernorm.weight"), eps),
                Ops.rmsNorm(h, p.get("midlayer.hidden_norm.weight"), eps)), 2);
        NDArray q = Ops.applyRope(heads(Ops.linear(x, p.get("midlayer.self_attn.q_proj.weight")), cfg.numHeads()),
                cos, sin);
        NDArray k = Ops.applyRope(heads(Ops.linear(x, p.get("midlayer.self_attn.k_proj.weight")), cfg.numKvHeads()),
                cos, sin);
        NDArray v = heads(Ops.linear(x, p.get("midlayer.self_attn.v_proj.weight")), cfg.numKvHeads());
        return new NDList(q, k, v);
    }

    /** Attention output projection, residual from h, then the MLP block. */
    private NDArray finish(NDArray h, NDArray attn) {
        double eps = cfg.rmsNormEps();
        NDArray h1 = h.add(Ops.linear(attn, p.get("midlayer.self_attn.o_proj.weight")));
        NDArray mlp = Ops.swiglu(Ops.rmsNorm(h1, p.get("midlayer.post_attention_layernorm.weight"), eps),
                p.get("midlayer.mlp.gate_proj.weight"), p.get("midlayer.mlp.up_proj.weight"),
                p.get("midlayer.mlp.down_proj.weight"));
        return h1.add(mlp);
    }

    /** Draft logits of a step's output: lm_head(norm(h)). */
    public NDArray logits(NDArray hOut) {
        return Ops.linear(Ops.rmsNorm(hOut, p.get("norm.weight"), cfg.rmsNormEps()), p.get(DraftParams.LM_HEAD));
    }

    private NDArray tttAttention(NDArray q, List<NDArray> keys, List<NDArray> values, NDArray bias) {
        long[] s = q.getShape().getShape();
        long b = s[0], heads = s[1], t = s[2], d = s[3];
        long kv = cfg.numKvHeads();
        long g = heads / kv;
        long tk = keys.get(0).getShape().get(2); // step-0 keys: as many as queries in training, all cached at inference
        NDArray q5 = Ops.scale(q, (float) (1.0 / Math.sqrt(d))).reshape(b, kv, g, t, d);
        // Against the step-0 keys a KV head's query group is folded into the row axis (as in
        // Attention.attend): plain batched GEMMs, K and V never broadcast into copies.
        NDArray scores0 = q5.reshape(b, kv, g * t, d).matMul(keys.get(0).transpose(0, 1, 3, 2));
        NDList scores = new NDList(scores0.reshape(b, kv, g, t, tk).add(bias));
        for (int i = 1; i < keys.size(); i++) {
            scores.add(q5.mul(keys.get(i).expandDims(2)).sum(new int[] {4}, true)); // own position only
        }
        NDArray probs = Ops.concat(scores, 4).softmax(4);
        NDArray out = probs.get(":, :, :, :, :{}", tk).reshape(b, kv, g * t, tk).matMul(values.get(0))
                .reshape(b, kv, g, t, d);
        for (int i = 1; i < values.size(); i++) {
            out = out.add(probs.get(":, :, :, :, {}:{}", tk + i - 1, tk + i).mul(values.get(i).expandDims(2)));
        }
        return out.reshape(b, heads, t, d).transpose(0, 2, 1, 3).reshape(b, t, heads * d);
    }

    private NDArray heads(NDArray x, int n) {
        long[] s = x.getShape().getShape();
        return x.reshape(s[0], s[1], n, cfg.headDim()).transpose(0, 2, 1, 3);
    }
}
