package dev.eaglespark.draft;

import java.util.List;
import java.util.Locale;

/**
 * The draft's math, once: the TorchScript methods that every draft script is built from (the
 * train-time-test steps of {@link TrainTimeTestScript}, the final norm of
 * {@link ChunkedHeadLoss}, the inference steps of {@link DraftStepScripts}), so training and
 * speculative decoding cannot compute two different drafts. RMSNorm as transformers computes it
 * (fp32 statistics through differentiable casts, x * rsqrt(mean(x^2) + eps)); the decoder
 * layer's input is concat(input_layernorm(embed(ids)), hidden_norm(h)) with h as the residual;
 * rotary embedding on halves; SwiGLU MLP; the head is lm_head(norm(h)).
 *
 * <p>Attention of a draft step: a query sees the causal keys of step 0 ({@code keys[0]}, with an
 * additive bias where causality or padding needs one) and, at its own position only, the keys of
 * the later steps ({@code keys[1..]}). {@code scored_attention} materialises the scores, the
 * reference's way: inference always takes it, training where the flash kernel cannot run (fp32 on
 * a GPU). Otherwise the causal part runs in the flash kernel, which also gives each row's
 * log-sum-exp L; the diagonal logits d_i join it in a softmax over [L, d_1, .., d_k], exactly the
 * softmax over all keys ({@code merged_attention}). The kernel gives L no gradient, so L enters
 * as its detached value plus terms that are zero in value but carry dL: dL/dq = P K0, the output
 * of a second flash call with the keys as values, and dL/dK0 = P^T q, the gradient that call
 * hands its values ({@code differentiable_lse}).
 */
final class DraftFragments {
    /** The draft weights a script reads, in the order its {@code forward} takes them. */
    static final List<String> WEIGHTS = List.of("fc.weight", DraftParams.EMBED, "midlayer.input_layernorm.weight",
            "midlayer.hidden_norm.weight", "midlayer.self_attn.q_proj.weight", "midlayer.self_attn.k_proj.weight",
            "midlayer.self_attn.v_proj.weight", "midlayer.self_attn.o_proj.weight",
            "midlayer.post_attention_layernorm.weight", "midlayer.mlp.gate_proj.weight", "midlayer.mlp.up_proj.weight",
            "midlayer.mlp.down_proj.weight", "norm.weight", DraftParams.LM_HEAD);

    /** {@link #WEIGHTS} as {@code forward}'s typed parameters. */
    static final String WEIGHT_PARAMETERS = """
            fc: Tensor, embed: Tensor, in_norm: Tensor, hidden_norm: Tensor, wq: Tensor, wk: Tensor,
                      wv: Tensor, wo: Tensor, post_norm: Tensor, gate: Tensor, up: Tensor, down: Tensor,
                      norm: Tensor, lm_head: Tensor""";

    private DraftFragments() {}

    /** The shared methods for module class {@code className}. */
    static String methods(DraftConfig c, String className) {
        int d = c.headDim();
        int kv = c.numKvHeads();
        int g = c.numHeads() / kv;
        String scale = Float.toString((float) (1.0 / Math.sqrt(d)));
        return """
                  def layer_input(self: __torch__.$CLASS, ids: Tensor, h: Tensor, cos: Tensor, sin: Tensor,
                      embed: Tensor, in_norm: Tensor, hidden_norm: Tensor, wq: Tensor, wk: Tensor,
                      wv: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
                    b = torch.size(ids, 0)
                    t = torch.size(ids, 1)
                    emb = torch.embedding(embed, ids)
                    x = torch.cat([self.rms_norm(emb, in_norm), self.rms_norm(h, hidden_norm)], 2)
                    q = self.rope(self.heads(torch.linear(x, wq), b, t, %d), cos, sin)
                    k = self.rope(self.heads(torch.linear(x, wk), b, t, %d), cos, sin)
                    return (q, k, self.heads(torch.linear(x, wv), b, t, %d))
                  def layer_output(self: __torch__.$CLASS, h: Tensor, attn: Tensor, wo: Tensor, post_norm: Tensor,
                      gate: Tensor, up: Tensor, down: Tensor) -> Tensor:
                    h1 = torch.add(h, torch.linear(attn, wo))
                    hn = self.rms_norm(h1, post_norm)
                    mlp = torch.linear(torch.mul(torch.silu(torch.linear(hn, gate)), torch.linear(hn, up)), down)
                    return torch.add(h1, mlp)
                  def head(self: __torch__.$CLASS, h: Tensor, norm: Tensor, lm_head: Tensor) -> Tensor:
                    return torch.linear(self.rms_norm(h, norm), lm_head)
                  def heads(self: __torch__.$CLASS, x: Tensor, b: int, t: int, n: int) -> Tensor:
                    return torch.transpose(torch.reshape(x, [b, t, n, %d]), 1, 2)
                  def rope(self: __torch__.$CLASS, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
                    half = %d
                    rotated = torch.cat([torch.neg(torch.slice(x, -1, half)), torch.slice(x, -1, 0, half)], -1)
                    return torch.add(torch.mul(x, cos), torch.mul(rotated, sin))
                  def attention(self: __torch__.$CLASS, q: Tensor, keys: List[Tensor],
                      values: List[Tensor], bias: Tensor, b: int, t: int) -> Tensor:
                    if torch.numel(bias) > 0:
                      return self.scored_attention(q, keys, values, bias, b, t)
                    return self.merged_attention(q, keys, values, b, t)
                  def merged_attention(self: __torch__.$CLASS, q: Tensor, keys: List[Tensor],
                      values: List[Tensor], b: int, t: int) -> Tensor:
                    kv = %d
                    g = %d
                    d = %d
                    qs = torch.mul(q, %s)
                    k0 = self.kv_heads(keys[0], q)
                    first = self.flash(qs, k0, self.kv_heads(values[0], q))
                    out = first[0]
                    if len(keys) > 1:
                      logits = [self.differentiable_lse(qs, k0, first[1])]
                      q5 = torch.reshape(qs, [b, kv, g, t, d])
                      for i in range(1, len(keys)):
                        dot = torch.sum(torch.mul(q5, torch.unsqueeze(keys[i], 2)), [4], dtype=6)
                        logits.append(torch.reshape(dot, [b, kv * g, t]))
                      w = torch.softmax(torch.stack(logits, -1), -1)
                      mixed = torch.mul(torch.reshape(out, [b, kv, g, t, d]), torch.reshape(torch.select(w, -1, 0), [b, kv, g, t, 1]))
                      for i in range(1, len(values)):
                        wi = torch.reshape(torch.select(w, -1, i), [b, kv, g, t, 1])
                        mixed = torch.add(mixed, torch.mul(wi, torch.unsqueeze(values[i], 2)))
                      out = torch.to(torch.reshape(mixed, [b, kv * g, t, d]), ops.prim.dtype(q))
                    return torch.reshape(torch.transpose(out, 1, 2), [b, t, kv * g * d])
                  def flash(self: __torch__.$CLASS, q: Tensor, k: Tensor, v: Tensor) -> Tuple[Tensor, Tensor]:
                    if ops.prim.is_cuda(q):
                      r = torch._scaled_dot_product_flash_attention(q, k, v, 0., True, False, scale=1.)
                      return (r[0], r[1])
                    return torch._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0., True, attn_mask=None, scale=1.)
                  def kv_heads(self: __torch__.$CLASS, x: Tensor, q: Tensor) -> Tensor:
                    if ops.prim.is_cuda(q):
                      return x
                    return torch.repeat_interleave(x, %d, 1)
                  def differentiable_lse(self: __torch__.$CLASS, qs: Tensor, k0: Tensor, lse: Tensor) -> Tensor:
                    qd = torch.detach(qs)
                    a = self.flash(qd, torch.detach(k0), k0)[0]
                    ad = torch.detach(a)
                    c = self.dot(qd, ad)
                    return torch.add(torch.detach(lse), torch.sub(torch.add(self.dot(qd, a), self.dot(qs, ad)), torch.add(c, c)))
                  def dot(self: __torch__.$CLASS, x: Tensor, y: Tensor) -> Tensor:
                    return torch.sum(torch.mul(x, y), [-1], dtype=6)
                  def scored_attention(self: __torch__.$CLASS, q: Tensor, keys: List[Tensor],
                      values: List[Tensor], bias: Tensor, b: int, t: int) -> Tensor:
                    kv = %d
                    g = %d
                    d = %d
                    tk = torch.size(keys[0], 2)
                    q5 = torch.reshape(torch.mul(q, %s), [b, kv, g, t, d])
                    s0 = torch.reshape(torch.matmul(torch.reshape(q5, [b, kv, g * t, d]), torch.transpose(keys[0], 2, 3)), [b, kv, g, t, tk])
                    if torch.numel(bias) > 0:
                      s0 = torch.add(s0, bias)
                    scores = [s0]
                    for i in range(1, len(keys)):
                      scores.append(torch.sum(torch.mul(q5, torch.unsqueeze(keys[i], 2)), [4], True))
                    probs = torch.softmax(torch.cat(scores, 4), 4)
                    first = torch.reshape(torch.slice(probs, 4, 0, tk), [b, kv, g * t, tk])
                    out = torch.reshape(torch.matmul(first, values[0]), [b, kv, g, t, d])
                    for i in range(1, len(values)):
                      p = torch.slice(probs, 4, tk + i - 1, tk + i)
                      out = torch.add(out, torch.mul(p, torch.unsqueeze(values[i], 2)))
                    return torch.reshape(torch.transpose(torch.reshape(out, [b, kv * g, t, d]), 1, 2), [b, t, kv * g * d])
                """.formatted(c.numHeads(), kv, kv, d, d / 2, kv, g, d, scale, g, kv, g, d, scale)
                .replace("$CLASS", className) + norm(c.rmsNormEps(), className);
    }

    /**
     * The draft's RMSNorm for module class {@code className} (among {@link #methods}):
     * {@code rms_norm(x, w)}, and {@code rms_normed(x)}, its parts before the weight (x in fp32,
     * 1 / rms(x), and x / rms(x) in x's dtype), which {@link ChunkedHeadLoss} differentiates
     * in closed form.
     */
    static String norm(double eps, String className) {
        return """
                  def rms_norm(self: __torch__.$CLASS, x: Tensor, w: Tensor) -> Tensor:
                    return torch.mul(self.rms_normed(x)[2], w)
                  def rms_normed(self: __torch__.$CLASS, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
                    x32 = torch.to(x, 6)
                    r = torch.rsqrt(torch.add(torch.mean(torch.pow(x32, 2), [-1], True), %s))
                    return (x32, r, torch.to(torch.mul(x32, r), ops.prim.dtype(x)))
                """.formatted(String.format(Locale.ROOT, "%.17g", eps)).replace("$CLASS", className);
    }
}
