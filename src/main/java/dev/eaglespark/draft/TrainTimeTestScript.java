package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.model.ScriptModule;

/**
 * The whole train-time-test forward of {@link TrainTimeTest} as one TorchScript call with
 * autograd on: the draft step ({@link DraftFragments}, the same methods inference runs), logits,
 * loss and accuracy of every step, and the shifts between steps. Through DJL the same work is
 * about a thousand JNI calls per micro-batch at tens of microseconds each, which kept the GPU
 * waiting for the host; here it is one, and the backward runs in libtorch as before.
 *
 * <p>Step k's attention: a query sees the causal keys of step 0 and, at its own position only,
 * the keys of steps 1..k. Given a bias, the scores are materialised ({@link TrainTimeTest.Batch#of}
 * makes one only for fp32 on a GPU, which the flash kernel does not take); otherwise the flash
 * kernel runs the causal part.
 */
final class TrainTimeTestScript {
    /** Rows of the per-step statistics: loss, accuracy, correct predictions, accuracy denominator. */
    static final int LOSS = 0;
    static final int ACC = 1;
    static final int CORRECT = 2;
    static final int COUNTED = 3;

    private final ScriptModule module;

    /**
     * @param withLogits forward also returns every step's logits [steps, B, T, draft vocab] (for
     *     checking inference against training; training itself does not keep them)
     */
    TrainTimeTestScript(DraftConfig cfg, int steps, double decay, LossType loss, boolean withLogits) {
        String name = withLogits ? "EagleTrainTimeTestLogits" : "EagleTrainTimeTest";
        this.module = ScriptModule.of(name, code(cfg, steps, decay, loss, withLogits, name)
                + DraftFragments.methods(cfg, name));
    }

    /**
     * @return the weighted total loss (differentiable), [4, steps] per-step losses, accuracies,
     *     correct predictions and accuracy denominators (detached), and with logits the stacked
     *     logits of every step, in ids' manager
     */
    NDList run(NDArray ids, NDArray lossMask, NDArray targetP, NDArray positionMask, NDArray aux, NDArray bias,
               NDArray cos, NDArray sin, Eagle3Draft draft) {
        NDList in = new NDList(ids, lossMask, targetP, positionMask, aux, bias, cos, sin);
        in.addAll(draft.weights());
        return module.forward(in, true);
    }

    private static String code(DraftConfig c, int steps, double decay, LossType loss, boolean withLogits,
                               String name) {
        StringBuilder weights = new StringBuilder();
        for (int k = 0; k < steps; k++) {
            // As a float, like the Java loop's factor: the fp32 loss is scaled by the same number.
            weights.append(k == 0 ? "" : ", ").append(Float.toString((float) Math.pow(decay, k)));
        }
        String perPosition = loss == LossType.FORWARD_KL
                ? "torch.neg(torch.sum(torch.mul(torch.mul(position_mask, target_p), log_p), [2]))"
                : "torch.sum(torch.mul(torch.mul(position_mask, torch.exp(log_p)), "
                        + "torch.sub(log_p, torch.log(torch.add(target_p, 1e-08)))), [2])";
        return """
                  def forward(self: __torch__.$CLASS,
                      ids: Tensor, loss_mask: Tensor, target_p: Tensor, position_mask: Tensor, aux: Tensor,
                      bias: Tensor, cos_table: Tensor, sin_table: Tensor,
                      %s) -> Tuple[Tensor, Tensor%s]:
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
                    hits = annotate(List[Tensor], [])
                    counted = annotate(List[Tensor], [])
                    step_logits = annotate(List[Tensor], [])
                    total = torch.zeros([], dtype=6, layout=None, device=ops.prim.device(aux))
                    for step in range(%d):
                      cos = torch.slice(cos_table, 0, step, step + t)
                      sin = torch.slice(sin_table, 0, step, step + t)
                      qkv = self.layer_input(ids, h, cos, sin, embed, in_norm, hidden_norm, wq, wk, wv)
                      keys.append(qkv[1])
                      values.append(qkv[2])
                      attn = self.attention(qkv[0], keys, values, bias, b, t)
                      h = self.layer_output(h, attn, wo, post_norm, gate, up, down)
                      logits = self.head(h, norm, lm_head)
                      log_p = torch.log_softmax(logits, 2, 6)
                      l = torch.mean(%s)
                      if step == 0:
                        total = l
                      else:
                        total = torch.add(total, torch.mul(l, step_weights[step]))
                      losses.append(torch.detach(l))
                      hit = torch.to(torch.eq(torch.argmax(logits, 2), torch.argmax(target_p, 2)), 6)
                      correct = torch.sum(torch.mul(hit, torch.squeeze(position_mask, 2)))
                      count = torch.sum(loss_mask)
                      accs.append(torch.div(correct, torch.clamp_min(count, 1e-06)))
                      hits.append(correct)
                      counted.append(count)
                      %s
                      if step + 1 < %d:
                        ids = self.shift(ids, 0.)
                        target_p = self.shift(target_p, 1. / k_vocab)
                        position_mask = self.shift(position_mask, 0.)
                        loss_mask = self.shift(loss_mask, 0.)
                    stats = torch.stack([torch.stack(losses), torch.stack(accs), torch.stack(hits), torch.stack(counted)])
                    return (total, stats%s)
                  def shift(self: __torch__.$CLASS, x: Tensor, fill: float) -> Tensor:
                    return torch.cat([torch.slice(x, 1, 1), torch.full_like(torch.slice(x, 1, 0, 1), fill)], 1)
                """.formatted(DraftFragments.WEIGHT_PARAMETERS, withLogits ? ", Tensor" : "", weights, steps,
                perPosition, withLogits ? "step_logits.append(torch.detach(logits))" : "", steps,
                withLogits ? ", torch.stack(step_logits)" : "").replace("$CLASS", name);
    }
}
