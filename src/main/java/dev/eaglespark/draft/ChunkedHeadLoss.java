package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.model.ScriptModule;
import java.util.List;
import java.util.Locale;

/**
 * The draft's lm_head, the loss and accuracy of every train-time-test step and the gradient they
 * send back, a chunk of positions at a time, as fused linear-cross-entropy kernels do it: no
 * logits or soft labels of a whole sequence ever exist, only those of one chunk (256 MiB of fp32
 * logits of the wider vocabulary by default: 523 tokens at 128,256).
 *
 * <p>The autograd graph of the TTT forward ends at each step's h_out. Here, outside autograd,
 * each chunk's rows go through the draft's final norm ({@link DraftFragments#norm}, the RMSNorm
 * every draft script runs) and lm_head, and the draft logits z give the loss and, in closed form,
 * dL/dz; then
 * dL/dhn = dL/dz @ lm_head, for a trained head dL/dlm_head += dL/dz^T @ hn, and through the norm
 * (hn = w * fp16(x r), r = rsqrt(mean(x^2) + eps), in fp32) dL/dw += sum(dL/dhn * fp16(x r)) and
 * dL/dx = r g - x r^3 sum(g x) / H with g = fp32(dL/dhn * w): what autograd computes through
 * those ops, without keeping the norm's fp32 copy of every step's output for the backward. The
 * graph is closed by the surrogate sum_k sum(h_out_k * G_k) + sum(w * dW_norm)
 * (+ sum(lm_head * dW)), whose backward hands each leaf exactly its gradient. With N = B*T, per
 * position and step
 * (mask = position mask, p_t the target's soft labels, p_s = softmax(z)):
 * <ul>
 *   <li>forward KL, L = -mask * sum_v p_t log p_s / N: dL/dz = mask * (p_s - p_t) / N
 *       (log-softmax's backward gives p_s * sum_v p_t - p_t, and the soft labels sum to 1 up to
 *       fp32 rounding);</li>
 *   <li>reverse KL, L = mask * sum_v p_s a / N with a = log p_s - log(p_t + 1e-8):
 *       dL/dz_j = mask * p_s,j * (a_j - sum_v p_s a) / N (the derivative of a's log p_s term,
 *       sum_v p_s d log p_s / dz_j = p_s,j - p_s,j * sum_v p_s, vanishes).</li>
 * </ul>
 * times 0.8^k for step k and the gradient scale (the fp16 loss scale over the micro-batches),
 * then cast to the compute dtype, as autograd casts log-softmax's fp32 gradient.
 *
 * <p>Chunks run over the target's positions s (the soft labels of s = t + k + 1 train position t
 * at step k), so each chunk's soft labels are made once, from the stored last hidden state
 * through the target's frozen norm and head, and serve every step: position mask(s) =
 * [target's argmax in the draft vocabulary] * loss_mask[s - 1], and step k's accuracy
 * denominator counts the same loss_mask entries; past the end (s >= T) the target is uniform, its
 * argmax id 0, and loss_mask is 0 from s = T + 1 on. loss_mask is the batch's as the trainer
 * aligned it ({@link LossMaskAlignment}): shifted with the targets, entry s - 1 is the stored
 * mask of token s; as the reference leaves it, of token s - 1.
 */
public final class ChunkedHeadLoss {
    /** fp32 logits per chunk of the wider vocabulary: 256 MiB (523 tokens at 128,256). */
    static final long CHUNK_LOGITS = 1L << 26;
    /** Rows of the per-step statistics: loss, accuracy, correct predictions, accuracy denominator. */
    static final int LOSS = 0;
    static final int ACC = 1;
    static final int CORRECT = 2;
    static final int COUNTED = 3;

    private final SoftLabels target;
    private final int steps;
    private final ScriptModule trainedHead;
    private final ScriptModule frozenHead;

    /**
     * @param chunkTokens tokens per chunk (over all rows of a batch), or 0 for
     *     {@link #CHUNK_LOGITS} fp32 logits of the target vocabulary
     */
    public ChunkedHeadLoss(SoftLabels target, int steps, double decay, LossType loss, double draftEps,
                           long chunkTokens) {
        this.target = target;
        this.steps = steps;
        long chunk = chunkTokens > 0 ? chunkTokens : Math.max(1, CHUNK_LOGITS / target.targetVocabSize());
        this.trainedHead = ScriptModule.of("EagleChunkedHeadLoss",
                code(steps, decay, loss, chunk, true, draftEps, target.eps()));
        this.frozenHead = ScriptModule.of("EagleChunkedHeadLoss",
                code(steps, decay, loss, chunk, false, draftEps, target.eps()));
    }

    /**
     * The losses of one micro-batch, the scalar whose backward delivers their gradient, and the
     * gradient G_k of each step's output that it hands on.
     */
    public record Result(NDArray graphEnd, NDArray total, NDArray perStep, List<NDArray> gradients) {}

    /**
     * @param outputs each step's h_out [B, T, H], ends of the autograd graph
     * @param norm the draft's final norm weight [H] in the compute dtype (trained)
     * @param head the draft's lm_head [Vd, H] in the compute dtype; trained when it requires gradients
     * @param lastHidden the target's last hidden state [B, T, Ht] in the compute dtype
     * @param lossMask [B, T]
     * @param gradScale what the gradients are multiplied by (loss scale over micro-batches)
     * @return the surrogate to run backward on (seed 1), the weighted total and [4, steps] per-step
     *     losses, accuracies, correct predictions and accuracy denominators (detached, fp32), in
     *     lastHidden's manager
     */
    public Result run(List<NDArray> outputs, NDArray norm, NDArray head, NDArray lastHidden, NDArray lossMask,
                      float gradScale) {
        if (outputs.size() != steps) {
            throw new IllegalArgumentException(outputs.size() + " step outputs for " + steps + " steps");
        }
        ScriptModule script = head.hasGradient() ? trainedHead : frozenHead;
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            NDArray scale = host.create(new float[] {gradScale}); // read by the script on the host: no sync
            NDList out = script.forwardArgsRecording(lastHidden, outputs, norm, head, lossMask, target.norm(),
                    target.head(), target.draftIds(), target.inVocab(), scale);
            return new Result(out.get(0), out.get(1), out.get(2), out.subList(3, out.size()));
        }
    }

    private static String code(int steps, double decay, LossType loss, long chunkTokens, boolean trainHead,
                               double draftEps, double targetEps) {
        StringBuilder weights = new StringBuilder();
        for (int k = 0; k < steps; k++) {
            // As floats, as the weighted sum of the reference multiplies its fp32 losses.
            weights.append(k == 0 ? "" : ", ").append(Float.toString((float) Math.pow(decay, k)));
        }
        // Per position: the loss summed over the vocabulary [B, n, 1], and dL/dz (unmasked, unscaled) in p's place.
        String lossAndGrad = loss == LossType.FORWARD_KL ? """
                          per = torch.neg(torch.sum(torch.mul(tp, log_p), [2], True))
                          torch.sub_(p, tp)
                          dz = p
                """ : """
                          dz = torch.mul_(torch.sub(log_p, torch.log(torch.add(tp, 1e-08))), p)
                          per = torch.sum(dz, [2], True)
                          torch.sub_(dz, torch.mul_(p, per))
                """;
        // A trained head's gradient: each chunk's dL/dz of all steps against their rows in one product.
        String keepRows = trainHead ? """
                          chunk_grads.append(torch.reshape(g, [-1, vocab]))
                          chunk_rows.append(torch.reshape(hn, [-1, hidden]))
                """ : "";
        String headGrad = trainHead ? """
                      if len(chunk_grads) > 0:
                        torch.add_(d_head, torch.matmul(torch.t(torch.cat(chunk_grads)), torch.cat(chunk_rows)))
                """ : "";
        String closeHead = trainHead
                ? "    end = torch.add(end, torch.sum(torch.mul(head, torch.to(d_head, ops.prim.dtype(head))), dtype=6))\n"
                : "";
        return """
                  def forward(self: __torch__.EagleChunkedHeadLoss, h_last: Tensor, outputs: List[Tensor], norm: Tensor,
                      head: Tensor, loss_mask: Tensor, t_norm: Tensor, t_head: Tensor, draft_ids: Tensor,
                      in_vocab: Tensor, grad_scale: Tensor) -> Tuple[Tensor, Tensor, Tensor, List[Tensor]]:
                    steps = %d
                    step_weights = [%s]
                    b = torch.size(h_last, 0)
                    t = torch.size(h_last, 1)
                    dev = ops.prim.device(h_last)
                    w = torch.detach(head)
                    w_norm = torch.detach(norm)
                    vocab = torch.size(w, 0)
                    hidden = torch.size(w, 1)
                    scale = float(grad_scale)
                    mask = torch.cat([torch.to(loss_mask, 6), torch.zeros([b, steps], dtype=6, layout=None, device=dev)], 1)
                    rows = annotate(List[Tensor], [])
                    grads = annotate(List[Tensor], [])
                    for k in range(steps):
                      rows.append(torch.detach(outputs[k]))
                      grads.append(torch.zeros_like(rows[k]))
                    d_norm = torch.zeros([hidden], dtype=6, layout=None, device=dev)
                    losses = torch.zeros([steps], dtype=6, layout=None, device=dev)
                    correct = torch.zeros([steps], dtype=6, layout=None, device=dev)
                    counted = torch.zeros([steps], dtype=6, layout=None, device=dev)
                    d_head = torch.zeros([%s, hidden], dtype=6, layout=None, device=dev)
                    width = max(1, %d // b)
                    for s0 in range(1, t + steps, width):
                      s1 = min(s0 + width, t + steps)
                      labels = self.soft_labels(h_last, t_norm, t_head, draft_ids, in_vocab, s0, s1)
                      lm = torch.slice(mask, 1, s0 - 1, s1 - 1)
                      pm = torch.mul(labels[2], lm)
                      chunk_grads = annotate(List[Tensor], [])
                      chunk_rows = annotate(List[Tensor], [])
                      for k in range(steps):
                        lo = max(s0, k + 1)
                        hi = min(s1, t + k + 1)
                        if lo < hi:
                          normed = self.rms_normed(torch.slice(rows[k], 1, lo - k - 1, hi - k - 1))
                          x32 = normed[0]
                          r = normed[1]
                          n16 = normed[2]
                          hn = torch.mul(n16, w_norm)
                          tp = torch.slice(labels[0], 1, lo - s0, hi - s0)
                          m = torch.unsqueeze(torch.slice(pm, 1, lo - s0, hi - s0), 2)
                          logits = torch.linear(hn, w)
                          log_p = torch.log_softmax(logits, 2, 6)
                          p = torch.exp(log_p)
                %s
                          torch.add_(torch.select(losses, 0, k), torch.sum(torch.mul(per, m)))
                          hit = torch.to(torch.eq(torch.argmax(logits, 2), torch.slice(labels[1], 1, lo - s0, hi - s0)), 6)
                          torch.add_(torch.select(correct, 0, k), torch.sum(torch.mul(hit, torch.squeeze(m, 2))))
                          torch.add_(torch.select(counted, 0, k), torch.sum(torch.slice(lm, 1, lo - s0, hi - s0)))
                          g = torch.to(torch.mul_(dz, torch.mul(m, scale * step_weights[k] / (b * t))), ops.prim.dtype(w))
                          g_hn = torch.matmul(g, w)
                          torch.add_(d_norm, torch.sum(torch.mul(g_hn, n16), [0, 1], dtype=6))
                          g_n = torch.to(torch.mul(g_hn, w_norm), 6)
                          s = torch.sum(torch.mul(g_n, x32), [-1], True)
                          g_x = torch.sub(torch.mul(g_n, r), torch.mul(x32, torch.mul(s, torch.div(torch.pow(r, 3), hidden))))
                          torch.copy_(torch.slice(grads[k], 1, lo - k - 1, hi - k - 1), g_x)
                %s%s
                    losses = torch.div(losses, b * t)
                    total = torch.select(losses, 0, 0)
                    for k in range(1, steps):
                      total = torch.add(total, torch.mul(torch.select(losses, 0, k), step_weights[k]))
                    accs = torch.div(correct, torch.clamp_min(counted, 1e-06))
                    end = torch.sum(torch.mul(norm, torch.to(d_norm, ops.prim.dtype(norm))), dtype=6)
                    for k in range(steps):
                      end = torch.add(end, torch.sum(torch.mul(outputs[k], grads[k]), dtype=6))
                %s
                    return (end, total, torch.stack([losses, accs, correct, counted]), grads)
                  def soft_labels(self: __torch__.EagleChunkedHeadLoss, h_last: Tensor, t_norm: Tensor, t_head: Tensor,
                      draft_ids: Tensor, in_vocab: Tensor, s0: int, s1: int) -> Tuple[Tensor, Tensor, Tensor]:
                    b = torch.size(h_last, 0)
                    t = torch.size(h_last, 1)
                    k_vocab = torch.size(draft_ids, 0)
                    dev = ops.prim.device(h_last)
                    probs = annotate(List[Tensor], [])
                    inside = annotate(List[Tensor], [])
                    if s0 < t:
                      end = min(s1, t)
                      logits = torch.linear(self.target_norm(torch.slice(h_last, 1, s0, end), t_norm), t_head)
                      chosen = logits
                      if k_vocab != torch.size(t_head, 0):
                        chosen = torch.index_select(logits, 2, draft_ids)
                      probs.append(torch.softmax(chosen, 2, 6))
                      top = torch.reshape(torch.argmax(logits, 2), [-1])
                      inside.append(torch.reshape(torch.index_select(in_vocab, 0, top), [b, end - s0]))
                    if s1 > t:
                      n = s1 - max(s0, t)
                      probs.append(torch.full([b, n, k_vocab], 1. / k_vocab, dtype=6, layout=None, device=dev))
                      first = torch.slice(in_vocab, 0, 0, 1)
                      inside.append(torch.expand(torch.reshape(first, [1, 1]), [b, n]))
                    p = torch.cat(probs, 1)
                    return (p, torch.argmax(p, 2), torch.cat(inside, 1))
                  def target_norm(self: __torch__.EagleChunkedHeadLoss, x: Tensor, w: Tensor) -> Tensor:
                    x32 = torch.to(x, 6)
                    variance = torch.mean(torch.pow(x32, 2), [-1], True)
                    normed = torch.div(x32, torch.sqrt(torch.add(variance, %s)))
                    return torch.mul(torch.to(normed, ops.prim.dtype(x)), w)
                """.formatted(steps, weights, trainHead ? "vocab" : "0", chunkTokens, lossAndGrad, keepRows, headGrad,
                closeHead, String.format(Locale.ROOT, "%.17g", targetEps))
                + DraftFragments.norm(draftEps, "EagleChunkedHeadLoss");
    }
}
