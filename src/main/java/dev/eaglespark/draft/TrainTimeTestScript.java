package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.model.ScriptModule;
import java.util.List;
import java.util.Locale;

/**
 * The whole train-time-test forward of {@link TrainTimeTest} as one TorchScript call with
 * autograd on: the draft step, logits, loss and accuracy of every step, and the shifts between
 * steps, in the same order and dtypes as the Java ops (RMSNorm as transformers computes it: fp32
 * statistics through differentiable casts, x * rsqrt(mean(x^2) + eps)). Through DJL the same
 * work is about a thousand JNI calls per micro-batch at tens of microseconds each, which kept
 * the GPU waiting for the host; here it is one, and the backward runs in libtorch as before.
 *
 * <p>Attention at step k: a query sees the causal keys of step 0 and, at its own position only,
 * the keys of steps 1..k. Given a bias, the scores are materialised, the reference's way
 * ({@code scored_attention}; {@link TrainTimeTest.Batch#of} makes one only for fp32 on a GPU,
 * which the flash kernel does not take). Otherwise the causal part runs in the flash kernel, which also gives
 * each row's log-sum-exp L; the diagonal logits d_i join it in a softmax over [L, d_1, .., d_k],
 * exactly the softmax over all keys ({@code merged_attention}). The kernel gives L no gradient,
 * so L enters as its detached value plus terms that are zero in value but carry dL:
 * dL/dq = P K0, the output of a second flash call with the keys as values, and dL/dK0 = P^T q,
 * the gradient that call hands its values ({@code differentiable_lse}).
 */
final class TrainTimeTestScript {
    /** The draft weights the script reads, in its argument order. */
    static final List<String> WEIGHTS = List.of("fc.weight", DraftParams.EMBED, "midlayer.input_layernorm.weight",
            "midlayer.hidden_norm.weight", "midlayer.self_attn.q_proj.weight", "midlayer.self_attn.k_proj.weight",
            "midlayer.self_attn.v_proj.weight", "midlayer.self_attn.o_proj.weight",
            "midlayer.post_attention_layernorm.weight", "midlayer.mlp.gate_proj.weight", "midlayer.mlp.up_proj.weight",
            "midlayer.mlp.down_proj.weight", "norm.weight", DraftParams.LM_HEAD);

    private final ScriptModule module;

    TrainTimeTestScript(DraftConfig cfg, int steps, double decay, LossType loss) {
        this.module = ScriptModule.of("EagleTrainTimeTest", code(cfg, steps, decay, loss));
    }

    /**
     * @return the weighted total loss (differentiable) and [2, steps] per-step losses and
     *     accuracies (detached), in ids' manager
     */
    NDList run(NDArray ids, NDArray lossMask, NDArray targetP, NDArray positionMask, NDArray aux, NDArray bias,
               NDArray cos, NDArray sin, Eagle3Draft draft) {
        NDList in = new NDList(ids, lossMask, targetP, positionMask, aux, bias, cos, sin);
        for (String w : WEIGHTS) {
            in.add(draft.weight(w));
        }
        return module.forward(in, true);
    }

    private static String code(DraftConfig c, int steps, double decay, LossType loss) {
        StringBuilder weights = new StringBuilder();
        for (int k = 0; k < steps; k++) {
            // As a float, like the Java loop's factor: the fp32 loss is scaled by the same number.
            weights.append(k == 0 ? "" : ", ").append(Float.toString((float) Math.pow(decay, k)));
        }
        int d = c.headDim();
        int kv = c.numKvHeads();
        int g = c.numHeads() / kv;
        String perPosition = loss == LossType.FORWARD_KL
                ? "torch.neg(torch.sum(torch.mul(torch.mul(position_mask, target_p), log_p), [2]))"
                : "torch.sum(torch.mul(torch.mul(position_mask, torch.exp(log_p)), "
                        + "torch.sub(log_p, torch.log(torch.add(target_p, 1e-08)))), [2])";
        return """
                  def forward(self: __torch__.EagleTrainTimeTest,
                      ids: Tensor, loss_mask: Tensor, target_p: Tensor, position_mask: Tensor, aux: Tensor,
                      bias: Tensor, cos_table: Tensor, sin_table: Tensor,
                      fc: Tensor, embed: Tensor, in_norm: Tensor, hidden_norm: Tensor, wq: Tensor, wk: Tensor,
                      wv: Tensor, wo: Tensor, post_norm: Tensor, gate: Tensor, up: Tensor, down: Tensor,
                      norm: Tensor, lm_head: Tensor) -> Tuple[Tensor, Tensor]:
                    b = torch.size(ids, 0)
                    t = torch.size(ids, 1)
                    k_vocab = torch.size(target_p, 2)
                    step_weights = [%s]
                    ids = self.shift(ids, 0.)
                    loss_mask = torch.to(loss_mask, 6)
                    h = torch.linear(aux, fc)
                    keys = annotate(List[Tensor], [])
                    values = annotate(List[Tensor], [])
                    losses = annotate(List[Tensor], [])
                    accs = annotate(List[Tensor], [])
                    total = torch.zeros([], dtype=6, layout=None, device=ops.prim.device(aux))
                    for step in range(%d):
                      cos = torch.slice(cos_table, 0, step, step + t)
                      sin = torch.slice(sin_table, 0, step, step + t)
                      emb = torch.embedding(embed, ids)
                      x = torch.cat([self.rms_norm(emb, in_norm), self.rms_norm(h, hidden_norm)], 2)
                      q = self.rope(self.heads(torch.linear(x, wq), b, t, %d), cos, sin)
                      k = self.rope(self.heads(torch.linear(x, wk), b, t, %d), cos, sin)
                      keys.append(k)
                      values.append(self.heads(torch.linear(x, wv), b, t, %d))
                      attn = self.attention(q, keys, values, bias, b, t)
                      h1 = torch.add(h, torch.linear(attn, wo))
                      hn = self.rms_norm(h1, post_norm)
                      mlp = torch.linear(torch.mul(torch.silu(torch.linear(hn, gate)), torch.linear(hn, up)), down)
                      h = torch.add(h1, mlp)
                      logits = torch.linear(self.rms_norm(h, norm), lm_head)
                      log_p = torch.log_softmax(logits, 2, 6)
                      l = torch.mean(%s)
                      if step == 0:
                        total = l
                      else:
                        total = torch.add(total, torch.mul(l, step_weights[step]))
                      losses.append(torch.detach(l))
                      hit = torch.to(torch.eq(torch.argmax(logits, 2), torch.argmax(target_p, 2)), 6)
                      correct = torch.sum(torch.mul(hit, torch.squeeze(position_mask, 2)))
                      accs.append(torch.div(correct, torch.clamp_min(torch.sum(loss_mask), 1e-06)))
                      if step + 1 < %d:
                        ids = self.shift(ids, 0.)
                        target_p = self.shift(target_p, 1. / k_vocab)
                        position_mask = self.shift(position_mask, 0.)
                        loss_mask = self.shift(loss_mask, 0.)
                    return (total, torch.stack([torch.stack(losses), torch.stack(accs)]))
                  def shift(self: __torch__.EagleTrainTimeTest, x: Tensor, fill: float) -> Tensor:
                    return torch.cat([torch.slice(x, 1, 1), torch.full_like(torch.slice(x, 1, 0, 1), fill)], 1)
                  def rms_norm(self: __torch__.EagleTrainTimeTest, x: Tensor, w: Tensor) -> Tensor:
                    x32 = torch.to(x, 6)
                    variance = torch.mean(torch.pow(x32, 2), [-1], True)
                    normed = torch.mul(x32, torch.rsqrt(torch.add(variance, %s)))
                    return torch.mul(torch.to(normed, ops.prim.dtype(x)), w)
                  def heads(self: __torch__.EagleTrainTimeTest, x: Tensor, b: int, t: int, n: int) -> Tensor:
                    return torch.transpose(torch.reshape(x, [b, t, n, %d]), 1, 2)
                  def rope(self: __torch__.EagleTrainTimeTest, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
                    half = %d
                    rotated = torch.cat([torch.neg(torch.slice(x, -1, half)), torch.slice(x, -1, 0, half)], -1)
                    return torch.add(torch.mul(x, cos), torch.mul(rotated, sin))
                  def attention(self: __torch__.EagleTrainTimeTest, q: Tensor, keys: List[Tensor],
                      values: List[Tensor], bias: Tensor, b: int, t: int) -> Tensor:
                    if torch.numel(bias) > 0:
                      return self.scored_attention(q, keys, values, bias, b, t)
                    return self.merged_attention(q, keys, values, b, t)
                  def merged_attention(self: __torch__.EagleTrainTimeTest, q: Tensor, keys: List[Tensor],
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
                  def flash(self: __torch__.EagleTrainTimeTest, q: Tensor, k: Tensor, v: Tensor) -> Tuple[Tensor, Tensor]:
                    if ops.prim.is_cuda(q):
                      r = torch._scaled_dot_product_flash_attention(q, k, v, 0., True, False, scale=1.)
                      return (r[0], r[1])
                    return torch._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0., True, attn_mask=None, scale=1.)
                  def kv_heads(self: __torch__.EagleTrainTimeTest, x: Tensor, q: Tensor) -> Tensor:
                    if ops.prim.is_cuda(q):
                      return x
                    return torch.repeat_interleave(x, %d, 1)
                  def differentiable_lse(self: __torch__.EagleTrainTimeTest, qs: Tensor, k0: Tensor, lse: Tensor) -> Tensor:
                    qd = torch.detach(qs)
                    a = self.flash(qd, torch.detach(k0), k0)[0]
                    ad = torch.detach(a)
                    c = self.dot(qd, ad)
                    return torch.add(torch.detach(lse), torch.sub(torch.add(self.dot(qd, a), self.dot(qs, ad)), torch.add(c, c)))
                  def dot(self: __torch__.EagleTrainTimeTest, x: Tensor, y: Tensor) -> Tensor:
                    return torch.sum(torch.mul(x, y), [-1], dtype=6)
                  def scored_attention(self: __torch__.EagleTrainTimeTest, q: Tensor, keys: List[Tensor],
                      values: List[Tensor], bias: Tensor, b: int, t: int) -> Tensor:
                    kv = %d
                    g = %d
                    d = %d
                    tk = torch.size(keys[0], 2)
                    q5 = torch.reshape(torch.mul(q, %s), [b, kv, g, t, d])
                    s0 = torch.matmul(torch.reshape(q5, [b, kv, g * t, d]), torch.transpose(keys[0], 2, 3))
                    scores = [torch.add(torch.reshape(s0, [b, kv, g, t, tk]), bias)]
                    for i in range(1, len(keys)):
                      scores.append(torch.sum(torch.mul(q5, torch.unsqueeze(keys[i], 2)), [4], True))
                    probs = torch.softmax(torch.cat(scores, 4), 4)
                    first = torch.reshape(torch.slice(probs, 4, 0, tk), [b, kv, g * t, tk])
                    out = torch.reshape(torch.matmul(first, values[0]), [b, kv, g, t, d])
                    for i in range(1, len(values)):
                      p = torch.slice(probs, 4, tk + i - 1, tk + i)
                      out = torch.add(out, torch.mul(p, torch.unsqueeze(values[i], 2)))
                    return torch.reshape(torch.transpose(torch.reshape(out, [b, kv * g, t, d]), 1, 2), [b, t, kv * g * d])
                """.formatted(weights, steps, c.numHeads(), kv, kv, perPosition, steps,
                String.format(Locale.ROOT, "%.17g", c.rmsNormEps()), d, d / 2,
                kv, g, d, Float.toString((float) (1.0 / Math.sqrt(d))), g,
                kv, g, d, Float.toString((float) (1.0 / Math.sqrt(d))));
    }
}
