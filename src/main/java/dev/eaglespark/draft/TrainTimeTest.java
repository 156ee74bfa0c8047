package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.model.Attention;
import dev.eaglespark.model.RopeCache;
import dev.eaglespark.model.RopePrecision;
import dev.eaglespark.model.RotaryEmbedding;
import dev.eaglespark.runtime.GradMode;

/**
 * EAGLE-3's training loop over one batch: k = 0..ttt-1 steps, each feeding the draft its own
 * previous hidden state; step k rotates queries and keys at positions t + k; the ids, target
 * distributions and masks move left by one per step (the draft is predicting one token further
 * ahead). Loss = sum over steps of decay^k * loss_k ({@link #STEP_DECAY}). The steps run as one TorchScript call
 * ({@link TrainTimeTestScript}) whose graph ends at each step's h_out; the final norm, the
 * lm_head, the soft labels and the losses follow a chunk of positions at a time
 * ({@link ChunkedHeadLoss}).
 */
public final class TrainTimeTest {
    /** EAGLE-3's decay of the step losses: step k's loss is weighted 0.8^k. */
    public static final double STEP_DECAY = 0.8;

    private final Eagle3Draft draft;
    private final int steps;
    private final RotaryEmbedding rope;
    private final TrainTimeTestScript script;
    private final ChunkedHeadLoss loss;
    private final boolean recompute;
    private RopeCache ropeCache;

    /** With chunks of {@link ChunkedHeadLoss}'s default size, keeping every step's activations. */
    public TrainTimeTest(Eagle3Draft draft, int steps, double decay, LossType loss, SoftLabels target) {
        this(draft, steps, decay, loss, target, 0, false);
    }

    /**
     * @param chunkTokens tokens per chunk of the head and loss, 0 for the default (256 MiB of fp32 logits)
     * @param recompute keep only each step's output, keys and values through the forward and
     *     recompute one step at a time in the backward ({@link StepwiseBackward}): about a third of
     *     the activation memory's growth with the sequence for one more forward of the steps
     */
    public TrainTimeTest(Eagle3Draft draft, int steps, double decay, LossType loss, SoftLabels target,
                         long chunkTokens, boolean recompute) {
        this.draft = draft;
        this.steps = steps;
        this.recompute = recompute;
        DraftConfig c = draft.config();
        this.rope = new RotaryEmbedding(c.rope(), c.headDim(), RopePrecision.FP32);
        this.script = new TrainTimeTestScript(c, steps);
        this.loss = new ChunkedHeadLoss(target, steps, decay, loss, c.rmsNormEps(), chunkTokens);
    }

    /**
     * The batch of one forward: ids [B, T], loss mask [B, T], aux [B, T, 3Ht] in the compute dtype
     * (the draft's weights must be in it too), and the additive causal and padding bias
     * [B, 1, 1, T, T] of the sequence lengths, or an empty array where attention needs none.
     */
    public record Batch(NDArray inputIds, NDArray lossMask, NDArray aux, NDArray bias) {
        /**
         * The bias is made here, with the batch (its lengths go to the device with the rest of it),
         * and only for fp32 on a GPU: the flash kernel takes half only, so there attention
         * materialises its scores. Elsewhere causality alone hides right padding.
         */
        public static Batch of(NDArray inputIds, long[] lengths, NDArray lossMask, NDArray aux) {
            NDManager m = inputIds.getManager();
            NDArray bias = aux.getDevice().isGpu() && aux.getDataType() == DataType.FLOAT32
                    ? Attention.causalBias(m, lengths, (int) inputIds.getShape().get(1), aux.getDataType())
                    : m.zeros(new Shape(0), aux.getDataType());
            return new Batch(inputIds, lossMask, aux, bias);
        }
    }

    /** One micro-batch as the trainer takes it: the batch, the last hidden states [B, T, Ht] (soft labels). */
    public record Inputs(Batch batch, NDArray lastHidden, long tokens) {}

    /**
     * Weighted total, per-step losses and accuracies, and the backward. The values stay on the
     * device until first asked for: reading a number waits for the GPU, and a wait per micro-batch
     * would stop the host from queueing the backward and the next forward.
     */
    public static final class Output {
        private final java.util.function.Consumer<GradMode> backward;
        private final NDArray total;
        private final NDArray perStep; // [4, steps]: losses, accuracies, correct predictions, denominators
        private final NDArray hits;
        private float[] values;

        Output(ChunkedHeadLoss.Result r, java.util.function.Consumer<GradMode> backward) {
            this.backward = backward;
            this.total = r.total();
            this.perStep = r.perStep();
            this.hits = r.hits();
        }

        /**
         * Of a {@link #score}: per row, position t and step k ([B, T, steps] flattened), whether
         * step k's argmax at t is the target's at t + k + 1 (and in the draft vocabulary),
         * whatever the loss mask says.
         */
        public boolean[] hits() {
            if (hits.getShape().get(0) == 0) {
                throw new IllegalStateException("only a scoring forward keeps the hits");
            }
            return hits.toBooleanArray();
        }

        /**
         * Adds the gradient of the total loss, times the run's gradient scale, to every trained
         * weight ({@code recording}: the caller's open recording mode).
         */
        public void backward(GradMode recording) {
            backward.accept(recording);
        }

        /** [1 + 2 * steps] on the device: the total, the per-step losses, the accuracies. */
        public NDArray statistics() {
            return total.reshape(1).concat(perStep.get("0:2").reshape(-1));
        }

        public float total() {
            return total.getFloat();
        }

        /** Per step: the mean over all B x T positions of the position's loss. */
        public float[] stepLoss() {
            return row(ChunkedHeadLoss.LOSS);
        }

        /** Per step: correct predictions over the positions the loss mask counts. */
        public float[] stepAcc() {
            return row(ChunkedHeadLoss.ACC);
        }

        /** Per step: the positions whose draft argmax equals the target's and which the position mask counts. */
        public float[] stepCorrect() {
            return row(ChunkedHeadLoss.CORRECT);
        }

        /** Per step: the accuracy's denominator, the positions the (aligned) loss mask counts. */
        public float[] stepCounted() {
            return row(ChunkedHeadLoss.COUNTED);
        }

        private float[] row(int r) {
            int steps = values().length / 4;
            return java.util.Arrays.copyOfRange(values(), r * steps, (r + 1) * steps);
        }

        private float[] values() {
            if (values == null) {
                values = perStep.toFloatArray();
            }
            return values;
        }
    }

    /**
     * The forward of one micro-batch and, chunk by chunk, its head, losses and their gradient
     * with respect to each step's h_out (and the final norm and a trained head); call with
     * gradients recorded.
     *
     * @param batch its loss mask as the caller aligned it ({@link LossMaskAlignment})
     * @param lastHidden the target's last hidden state [B, T, Ht] in the compute dtype (soft labels)
     * @param gradScale what the gradients are multiplied by: the loss scale over the micro-batches
     */
    public Output run(Batch batch, NDArray lastHidden, float gradScale) {
        NDList table = ropeRows(batch);
        NDArray cos = table.get(0);
        NDArray sin = table.get(1);
        if (!recompute) {
            NDList outputs = script.run(batch.inputIds(), batch.aux(), batch.bias(), cos, sin, draft);
            ChunkedHeadLoss.Result r = headLoss(outputs, batch, lastHidden, gradScale);
            return new Output(r, gc -> gc.backward(r.graphEnd()));
        }
        NDList all = script.runWithoutGraph(batch.inputIds(), batch.aux(), batch.bias(), cos, sin, draft);
        NDList outputs = new NDList(all.subList(0, steps));
        ChunkedHeadLoss.Result r = headLoss(outputs, batch, lastHidden, gradScale);
        StepwiseBackward stepwise = new StepwiseBackward(script, draft, batch, cos, sin, outputs,
                new NDList(all.subList(steps, 2 * steps)), new NDList(all.subList(2 * steps, 3 * steps)));
        return new Output(r, gc -> {
            gc.backward(r.graphEnd()); // the final norm and the head: the outputs are no graph's
            stepwise.run(gc, r.gradients());
        });
    }

    /**
     * The forward, losses and accuracies of {@link #run} without gradients, keeping each
     * position's hits ({@link Output#hits}); it has no backward.
     */
    public Output score(Batch batch, NDArray lastHidden) {
        NDList table = ropeRows(batch);
        try (GradMode off = GradMode.off()) {
            NDList outputs = script.run(batch.inputIds(), batch.aux(), batch.bias(), table.get(0), table.get(1), draft);
            ChunkedHeadLoss.Result r = loss.score(outputs, draft.weight("norm.weight"),
                    draft.weight(DraftParams.LM_HEAD), lastHidden, batch.lossMask());
            return new Output(r, gc -> {
                throw new IllegalStateException("a scoring forward has no backward");
            });
        }
    }

    private ChunkedHeadLoss.Result headLoss(NDList outputs, Batch batch, NDArray lastHidden, float gradScale) {
        return loss.run(outputs, draft.weight("norm.weight"), draft.weight(DraftParams.LM_HEAD), lastHidden,
                batch.lossMask(), gradScale);
    }

    /**
     * The logits of every step [steps, B, T, draft vocab] for the batch, as the training forward
     * computes them (the same steps and head, no gradients): what inference must reproduce.
     */
    public NDArray stepLogits(Batch batch) {
        NDList table = ropeRows(batch);
        try (GradMode off = GradMode.off()) {
            return script.logits(batch.inputIds(), batch.aux(), batch.bias(), table.get(0), table.get(1), draft);
        }
    }

    /** The rotary rows of the batch: step k reads rows k..k+t-1 of positions 0..t+steps-2 (positions t + k). */
    private NDList ropeRows(Batch batch) {
        NDArray ids = batch.inputIds();
        int t = (int) ids.getShape().get(1);
        return ropeCache().fromZero(ids.getManager(), t + steps - 1, batch.aux().getDataType());
    }

    /** The rope table on the device, kept with the draft's weights (made on first use). */
    private synchronized RopeCache ropeCache() {
        if (ropeCache == null) {
            ropeCache = new RopeCache(rope, draft.weight(DraftParams.EMBED).getManager().newSubManager());
        }
        return ropeCache;
    }
}
