package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.List;
import java.util.Map;

/**
 * The train-time-test forward of {@link TrainTimeTest} as one TorchScript call with autograd on
 * ({@code scripts/draft/train-time-test.torchscript}): the draft step of every TTT step ({@link
 * DraftFragments}, the same methods inference runs) and the shift of the ids between steps. It
 * returns each step's output h_out, where the graph ends: the final norm, the lm_head and the loss
 * run chunk by chunk in {@link ChunkedHeadLoss}, outside autograd. Through DJL the same work is
 * about a thousand JNI calls per micro-batch at tens of microseconds each, which kept the GPU
 * waiting for the host; here it is one, and the backward runs in libtorch.
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
    private static final ScriptTemplate STEPS = ScriptTemplate.of("draft/train-time-test");

    private final DraftConfig cfg;
    private final int steps;
    private final ScriptModule graph;
    private final ScriptModule noGraph;
    private final ScriptModule oneStep;
    private ScriptModule logits;

    TrainTimeTestScript(DraftConfig cfg, int steps) {
        this.cfg = cfg;
        this.steps = steps;
        this.graph = module("EagleTrainTimeTest", "draft/ttt-graph");
        this.noGraph = module("EagleTrainTimeTestForward", "draft/ttt-no-graph");
        this.oneStep = module("EagleTrainTimeTestStep", "draft/ttt-one-step");
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
                logits = module("EagleTrainTimeTestLogits", "draft/ttt-logits");
            }
        }
        return logits.forward(inputs(new NDList(ids, aux, bias, cos, sin), draft)).singletonOrThrow();
    }

    private static NDList inputs(NDList in, Eagle3Draft draft) {
        in.addAll(draft.weights());
        return in;
    }

    /** A module of class {@code name}: the forward {@code template}, the steps and the draft's methods. */
    private ScriptModule module(String name, String template) {
        return DraftFragments.trainingModule(cfg, name, Map.of("steps", steps), ScriptTemplate.of(template), STEPS);
    }
}
