package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.model.ScriptModule;
import java.util.List;

/**
 * The train-time-test forward of {@link TrainTimeTest} as one TorchScript call with autograd
 * on: the draft step of every TTT step ({@link DraftFragments}, the same methods inference runs)
 * and the shift of the ids between steps. It returns each step's output h_out, where the graph
 * ends: the final norm, the lm_head and the loss run chunk by chunk in {@link ChunkedHeadLoss},
 * outside autograd. Through DJL the same work is about a thousand JNI calls per micro-batch at
 * tens of microseconds each, which kept the GPU waiting for the host; here it is one, and the
 * backward runs in libtorch.
 *
 * <p>Four modules share the steps: the forward with its graph; the same without one, keeping
 * each step's output, keys and values for {@link StepwiseBackward}; one step alone from those,
 * which that backward records; and every step's logits through the draft's head (no graph), what
 * inference must reproduce.
 *
 * <p>Step k's attention: a query sees the causal keys of step 0 and, at its own position only,
 * the keys of steps 1..k. Given a bias, the scores are materialised ({@link TrainTimeTest.Batch#of}
 * makes one only for fp32 on a GPU, which the flash kernel does not take); otherwise the flash
 * kernel runs the causal part.
 */
final class TrainTimeTestScript {
    /** The weights the steps read, as the shared methods take them ($STEP_WEIGHTS). */
    private static final String STEP_WEIGHTS =
            "embed, in_norm, hidden_norm, wq, wk, wv, wo, post_norm, gate, up, down";

    private final DraftConfig cfg;
    private final int steps;
    private final ScriptModule graph;
    private final ScriptModule noGraph;
    private final ScriptModule oneStep;
    private ScriptModule logits;

    TrainTimeTestScript(DraftConfig cfg, int steps) {
        this.cfg = cfg;
        this.steps = steps;
        this.graph = module("EagleTrainTimeTest", """
                  def forward(self: __torch__.$CLASS,
                      ids: Tensor, aux: Tensor, bias: Tensor, cos_table: Tensor, sin_table: Tensor,
                      $WEIGHTS) -> List[Tensor]:
                    keys = annotate(List[Tensor], [])
                    values = annotate(List[Tensor], [])
                    return self.steps(ids, torch.linear(aux, fc), keys, values, bias, cos_table, sin_table,
                        $STEP_WEIGHTS)
                """);
        // The same steps on detached weights: no graph, but tensors autograd may later take as leaves
        // (a call without gradient recording would make inference tensors, which it refuses).
        this.noGraph = module("EagleTrainTimeTestForward", """
                  def forward(self: __torch__.$CLASS,
                      ids: Tensor, aux: Tensor, bias: Tensor, cos_table: Tensor, sin_table: Tensor,
                      $WEIGHTS) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
                    keys = annotate(List[Tensor], [])
                    values = annotate(List[Tensor], [])
                    outputs = self.steps(ids, torch.linear(torch.detach(aux), torch.detach(fc)), keys, values, bias,
                        cos_table, sin_table, embed, torch.detach(in_norm), torch.detach(hidden_norm),
                        torch.detach(wq), torch.detach(wk), torch.detach(wv), torch.detach(wo),
                        torch.detach(post_norm), torch.detach(gate), torch.detach(up), torch.detach(down))
                    return (outputs, keys, values)
                """);
        // Step k alone, from its input h (or, at step 0, from aux through fc) and the keys and
        // values of the steps before it; returns its h_out, keys and values.
        this.oneStep = module("EagleTrainTimeTestStep", """
                  def forward(self: __torch__.$CLASS, at: Tensor,
                      ids: Tensor, aux: Tensor, h_in: Tensor, all_keys: List[Tensor], all_values: List[Tensor],
                      bias: Tensor, cos_table: Tensor, sin_table: Tensor,
                      $WEIGHTS) -> Tuple[Tensor, Tensor, Tensor]:
                    k = int(at)
                    for i in range(k + 1):
                      ids = self.shift(ids, 0.)
                    h = h_in
                    if k == 0:
                      h = torch.linear(aux, fc)
                    keys = annotate(List[Tensor], [])
                    values = annotate(List[Tensor], [])
                    for i in range(k):
                      keys.append(all_keys[i])
                      values.append(all_values[i])
                    out = self.step(k, ids, h, keys, values, bias, cos_table, sin_table, $STEP_WEIGHTS)
                    return (out, keys[k], values[k])
                """);
    }

    /** @return each step's h_out [B, T, H] (differentiable), in ids' manager */
    NDList run(NDArray ids, NDArray aux, NDArray bias, NDArray cos, NDArray sin, Eagle3Draft draft) {
        return graph.forward(inputs(new NDList(ids, aux, bias, cos, sin), draft), true);
    }

    /** Every step's h_out, then keys, then values, outside autograd (steps x 3 arrays), in ids' manager. */
    NDList runWithoutGraph(NDArray ids, NDArray aux, NDArray bias, NDArray cos, NDArray sin, Eagle3Draft draft) {
        return noGraph.forward(inputs(new NDList(ids, aux, bias, cos, sin), draft), true);
    }

    /**
     * Step {@code at} (a host int64 scalar, whose manager gets the results) with autograd: its
     * h_out, keys and values from {@code hIn} (ignored at step 0) and the keys and values of
     * every step (those from step {@code at} on are not read).
     */
    NDList step(NDArray at, NDArray ids, NDArray aux, NDArray hIn, List<NDArray> keys, List<NDArray> values,
                NDArray bias, NDArray cos, NDArray sin, Eagle3Draft draft) {
        NDList weights = draft.weights();
        Object[] head = {at, ids, aux, hIn, keys, values, bias, cos, sin};
        Object[] args = new Object[head.length + weights.size()];
        System.arraycopy(head, 0, args, 0, head.length);
        for (int i = 0; i < weights.size(); i++) {
            args[head.length + i] = weights.get(i);
        }
        return oneStep.forwardArgsRecording(args);
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
                            keys = annotate(List[Tensor], [])
                            values = annotate(List[Tensor], [])
                            outputs = self.steps(ids, torch.linear(aux, fc), keys, values, bias, cos_table, sin_table,
                                $STEP_WEIGHTS)
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
        String code = forward + """
                  def steps(self: __torch__.$CLASS, ids: Tensor, h: Tensor, keys: List[Tensor], values: List[Tensor],
                      bias: Tensor, cos_table: Tensor, sin_table: Tensor, embed: Tensor, in_norm: Tensor,
                      hidden_norm: Tensor, wq: Tensor, wk: Tensor, wv: Tensor, wo: Tensor, post_norm: Tensor,
                      gate: Tensor, up: Tensor, down: Tensor) -> List[Tensor]:
                    outputs = annotate(List[Tensor], [])
                    for k in range(%d):
                      ids = self.shift(ids, 0.)
                      h = self.step(k, ids, h, keys, values, bias, cos_table, sin_table, $STEP_WEIGHTS)
                      outputs.append(h)
                    return outputs
                  def step(self: __torch__.$CLASS, k: int, ids: Tensor, h: Tensor, keys: List[Tensor],
                      values: List[Tensor], bias: Tensor, cos_table: Tensor, sin_table: Tensor, embed: Tensor,
                      in_norm: Tensor, hidden_norm: Tensor, wq: Tensor, wk: Tensor, wv: Tensor, wo: Tensor,
                      post_norm: Tensor, gate: Tensor, up: Tensor, down: Tensor) -> Tensor:
                    b = torch.size(ids, 0)
                    t = torch.size(ids, 1)
                    cos = torch.slice(cos_table, 0, k, k + t)
                    sin = torch.slice(sin_table, 0, k, k + t)
                    qkv = self.layer_input(ids, h, cos, sin, embed, in_norm, hidden_norm, wq, wk, wv)
                    keys.append(qkv[1])
                    values.append(qkv[2])
                    attn = self.attention(qkv[0], keys, values, bias, b, t)
                    return self.layer_output(h, attn, wo, post_norm, gate, up, down)
                  def shift(self: __torch__.$CLASS, x: Tensor, fill: float) -> Tensor:
                    return torch.cat([torch.slice(x, 1, 1), torch.full_like(torch.slice(x, 1, 0, 1), fill)], 1)
                """.formatted(steps);
        return ScriptModule.of(name, code.replace("$WEIGHTS", DraftFragments.WEIGHT_PARAMETERS)
                .replace("$STEP_WEIGHTS", STEP_WEIGHTS).replace("$CLASS", name) + DraftFragments.methods(cfg, name));
    }
}
