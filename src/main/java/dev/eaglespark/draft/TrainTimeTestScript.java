package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.model.ScriptModule;

/**
 * The train-time-test forward of {@link TrainTimeTest} as one TorchScript call with autograd
 * on: the draft step of every TTT step ({@link DraftFragments}, the same methods inference runs)
 * and the shift of the ids between steps. It returns each step's output h_out, where the graph
 * ends: the final norm, the lm_head and the loss run chunk by chunk in {@link ChunkedHeadLoss},
 * outside autograd. Through DJL the same work is about a thousand JNI
 * calls per micro-batch at tens of microseconds each, which kept the GPU waiting for the host;
 * here it is one, and the backward runs in libtorch.
 *
 * <p>Step k's attention: a query sees the causal keys of step 0 and, at its own position only,
 * the keys of steps 1..k. Given a bias, the scores are materialised ({@link TrainTimeTest.Batch#of}
 * makes one only for fp32 on a GPU, which the flash kernel does not take); otherwise the flash
 * kernel runs the causal part.
 */
final class TrainTimeTestScript {
    private final ScriptModule graph;
    private final DraftConfig cfg;
    private final int steps;
    private ScriptModule logits;

    TrainTimeTestScript(DraftConfig cfg, int steps) {
        this.cfg = cfg;
        this.steps = steps;
        this.graph = module("EagleTrainTimeTest", """
                  def forward(self: __torch__.$CLASS,
                      ids: Tensor, aux: Tensor, bias: Tensor, cos_table: Tensor, sin_table: Tensor,
                      $WEIGHTS) -> List[Tensor]:
                    return self.steps(ids, aux, bias, cos_table, sin_table, fc, embed, in_norm, hidden_norm,
                        wq, wk, wv, wo, post_norm, gate, up, down)
                """);
    }

    /** @return each step's h_out [B, T, H] (differentiable), in ids' manager */
    NDList run(NDArray ids, NDArray aux, NDArray bias, NDArray cos, NDArray sin, Eagle3Draft draft) {
        return graph.forward(inputs(new NDList(ids, aux, bias, cos, sin), draft), true);
    }

    /**
     * Every step's logits [steps, B, T, draft vocab] as training computes them (the same steps,
     * then the draft's head), without gradients: what inference must reproduce. Built on first use.
     */
    NDArray logits(NDArray ids, NDArray aux, NDArray bias, NDArray cos, NDArray sin, Eagle3Draft draft) {
        synchronized (this) {
            if (logits == null) {
                logits = module("EagleTrainTimeTestLogits", """
                          def forward(self: __torch__.$CLASS,
                              ids: Tensor, aux: Tensor, bias: Tensor, cos_table: Tensor, sin_table: Tensor,
                              $WEIGHTS) -> Tensor:
                            outputs = self.steps(ids, aux, bias, cos_table, sin_table, fc, embed, in_norm,
                                hidden_norm, wq, wk, wv, wo, post_norm, gate, up, down)
                            step_logits = annotate(List[Tensor], [])
                            for h in outputs:
                              step_logits.append(self.head(h, norm, lm_head))
                            return torch.stack(step_logits)
                        """);
            }
        }
        return logits.forward(inputs(new NDList(ids, aux, bias, cos, sin), draft)).singletonOrThrow();
    }

    private static NDList inputs(NDList in, Eagle3Draft draft) {
        in.addAll(draft.weights());
        return in;
    }

    /** A module of class {@code name}: its forward, the steps and the draft's methods. */
    private ScriptModule module(String name, String forward) {
        return ScriptModule.of(name, (forward.replace("$WEIGHTS", DraftFragments.WEIGHT_PARAMETERS) + """
                  def steps(self: __torch__.$CLASS, ids: Tensor, aux: Tensor, bias: Tensor, cos_table: Tensor,
                      sin_table: Tensor, fc: Tensor, embed: Tensor, in_norm: Tensor, hidden_norm: Tensor, wq: Tensor,
                      wk: Tensor, wv: Tensor, wo: Tensor, post_norm: Tensor, gate: Tensor, up: Tensor,
                      down: Tensor) -> List[Tensor]:
                    b = torch.size(ids, 0)
                    t = torch.size(ids, 1)
                    h = torch.linear(aux, fc)
                    keys = annotate(List[Tensor], [])
                    values = annotate(List[Tensor], [])
                    outputs = annotate(List[Tensor], [])
                    for step in range(%d):
                      ids = self.shift(ids, 0.)
                      cos = torch.slice(cos_table, 0, step, step + t)
                      sin = torch.slice(sin_table, 0, step, step + t)
                      qkv = self.layer_input(ids, h, cos, sin, embed, in_norm, hidden_norm, wq, wk, wv)
                      keys.append(qkv[1])
                      values.append(qkv[2])
                      attn = self.attention(qkv[0], keys, values, bias, b, t)
                      h = self.layer_output(h, attn, wo, post_norm, gate, up, down)
                      outputs.append(h)
                    return outputs
                  def shift(self: __torch__.$CLASS, x: Tensor, fill: float) -> Tensor:
                    return torch.cat([torch.slice(x, 1, 1), torch.full_like(torch.slice(x, 1, 0, 1), fill)], 1)
                """.formatted(steps)).replace("$CLASS", name) + DraftFragments.methods(cfg, name));
    }
}
