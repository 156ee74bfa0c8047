package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.runtime.GradMode;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The train-time-test backward one step at a time, recomputing each step's activations (as
 * activation checkpointing does) instead of keeping those of all steps: the forward ran without a
 * graph and kept each step's output, keys and values; going from the last step to the first,
 * step k is recomputed with autograd from leaves (its input h, the keys and values of steps
 * before it) and its backward seeded with what the later steps and the loss sent back: for its
 * output the loss's G_k plus the gradient of step k+1's input, for its keys and values what
 * later steps' attention sent them. Its leaves' gradients then seed the earlier steps. The
 * weights' gradients add up over the steps as in one backward; the recomputed forward is the
 * same computation, so the gradients are those of the one-graph path up to the order in which
 * autograd sums them. Only one step's graph exists at a time.
 */
final class StepwiseBackward {
    /** sum_i sum(a_i * b_i) in fp32: a surrogate whose backward hands each a_i the seed b_i. */
    private static final ScriptModule SEEDED = ScriptTemplate.module("SeededSurrogate", Map.of(),
            ScriptTemplate.of("draft/seeded-surrogate"));

    private final TrainTimeTestScript script;
    private final Eagle3Draft draft;
    private final TrainTimeTest.Batch batch;
    private final NDArray cos;
    private final NDArray sin;
    private final NDList outputs;
    private final NDList keys;
    private final NDList values;

    StepwiseBackward(TrainTimeTestScript script, Eagle3Draft draft, TrainTimeTest.Batch batch, NDArray cos,
                     NDArray sin, NDList outputs, NDList keys, NDList values) {
        this.script = script;
        this.draft = draft;
        this.batch = batch;
        this.cos = cos;
        this.sin = sin;
        this.outputs = outputs;
        this.keys = keys;
        this.values = values;
    }

    /** @param gradients the loss's gradient of each step's output, G_k */
    void run(GradMode recording, List<NDArray> gradients) {
        int steps = outputs.size();
        NDManager kept = batch.inputIds().getManager();
        NDArray[] dKeys = new NDArray[steps];
        NDArray[] dValues = new NDArray[steps];
        NDArray dInput = null; // the gradient of step k+1's input, step k's output
        for (int k = steps - 1; k >= 0; k--) {
            try (NDManager host = NDManager.newBaseManager(Device.cpu()); NDManager scope = kept.newSubManager()) {
                NDArray at = host.create((long) k); // the results of the step belong to its manager
                List<NDArray> keyLeaves = leaves(keys, k, scope);
                List<NDArray> valueLeaves = leaves(values, k, scope);
                NDArray input = k == 0 ? outputs.get(0) : leaf(outputs.get(k - 1), scope); // step 0: aux
                NDList step = script.step(at, batch.inputIds(), batch.aux(), input, keyLeaves, valueLeaves,
                        batch.bias(), cos, sin, draft);
                NDArray seed = gradients.get(k);
                if (dInput != null) {
                    seed = seed.add(dInput);
                    seed.attach(scope);
                }
                NDList a = new NDList(step.get(0));
                NDList b = new NDList(seed);
                if (dKeys[k] != null) {
                    a.add(step.get(1));
                    b.add(dKeys[k]);
                    a.add(step.get(2));
                    b.add(dValues[k]);
                }
                recording.backward(SEEDED.forwardArgsRecording(a, b).singletonOrThrow());
                if (dInput != null) {
                    dInput.close();
                }
                dInput = k == 0 ? null : kept(input.getGradient(), kept);
                for (int i = 0; i < k; i++) {
                    dKeys[i] = accumulate(dKeys[i], keyLeaves.get(i).getGradient(), kept);
                    dValues[i] = accumulate(dValues[i], valueLeaves.get(i).getGradient(), kept);
                }
                if (dKeys[k] != null) {
                    dKeys[k].close();
                    dValues[k].close();
                }
            }
        }
    }

    /** The first {@code k} arrays as fresh leaves in {@code scope}, the rest as they are (not read). */
    private static List<NDArray> leaves(NDList arrays, int k, NDManager scope) {
        List<NDArray> out = new ArrayList<>();
        for (int i = 0; i < arrays.size(); i++) {
            out.add(i < k ? leaf(arrays.get(i), scope) : arrays.get(i));
        }
        return out;
    }

    private static NDArray leaf(NDArray x, NDManager scope) {
        NDArray l = x.stopGradient();
        l.attach(scope);
        l.setRequiresGradient(true);
        return l;
    }

    /** A leaf's gradient copied out of the step's scope. */
    private static NDArray kept(NDArray gradient, NDManager kept) {
        NDArray copy = gradient.duplicate();
        copy.attach(kept);
        return copy;
    }

    private static NDArray accumulate(NDArray sum, NDArray gradient, NDManager kept) {
        return sum == null ? kept(gradient, kept) : sum.addi(gradient);
    }
}
