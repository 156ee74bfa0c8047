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

/**
 * EAGLE-3's training loop over one batch: k = 0..ttt-1 steps, each feeding the draft its own
 * previous hidden state; step k rotates queries and keys at positions t + k; the ids, target
 * distributions and masks move left by one per step (the draft is predicting one token further
 * ahead). Loss = sum over steps of 0.8^k * loss_k. The steps run as one TorchScript call
 * ({@link TrainTimeTestScript}).
 */
public final class TrainTimeTest {
    private final Eagle3Draft draft;
    private final int steps;
    private final RotaryEmbedding rope;
    private final double decay;
    private final LossType loss;
    private final TrainTimeTestScript script;
    private RopeCache ropeCache;

    public TrainTimeTest(Eagle3Draft draft, int steps, double decay, LossType loss) {
        this.draft = draft;
        this.steps = steps;
        this.decay = decay;
        this.loss = loss;
        DraftConfig c = draft.config();
        this.rope = new RotaryEmbedding(c.rope(), c.headDim(), RopePrecision.FP32);
        this.script = new TrainTimeTestScript(c, steps, decay, loss, false);
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
     * Weighted total (differentiable), per-step losses and accuracies. The per-step values stay
     * on the device until first asked for: reading a number waits for the GPU, and a wait per
     * step would stop the host from queueing the next step's work (and the backward) meanwhile.
     */
    public static final class Output {
        private final NDArray total;
        private final NDArray perStep; // [4, steps]: losses, accuracies, correct predictions, denominators
        private float[] values;

        Output(NDArray total, NDArray perStep) {
            this.total = total;
            this.perStep = perStep;
        }

        public NDArray total() {
            return total;
        }

        /** [1 + 2 * steps] on the device, detached: the total, the per-step losses, the accuracies. */
        public NDArray statistics() {
            return total.stopGradient().reshape(1).concat(perStep.get("0:2").reshape(-1));
        }

        /** Per step: the mean over all B x T positions of the position's loss. */
        public float[] stepLoss() {
            return row(TrainTimeTestScript.LOSS);
        }

        /** Per step: correct predictions over the positions the loss mask counts. */
        public float[] stepAcc() {
            return row(TrainTimeTestScript.ACC);
        }

        /** Per step: the positions whose draft argmax equals the target's and which the position mask counts. */
        public float[] stepCorrect() {
            return row(TrainTimeTestScript.CORRECT);
        }

        /** Per step: the accuracy's denominator, the positions the (shifted) loss mask counts. */
        public float[] stepCounted() {
            return row(TrainTimeTestScript.COUNTED);
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

    public Output run(Batch batch, SoftLabels.Labels labels) {
        NDList out = run(script, batch, labels);
        return new Output(out.get(0), out.get(1));
    }

    /**
     * The logits of every step [steps, B, T, draft vocab] for the batch, as the training forward
     * computes them (the same script with its logits kept, no gradients): what inference must
     * reproduce.
     */
    public NDArray stepLogits(Batch batch, SoftLabels.Labels labels) {
        TrainTimeTestScript withLogits = new TrainTimeTestScript(draft.config(), steps, decay, loss, true);
        try (GradMode off = GradMode.off()) {
            return run(withLogits, batch, labels).get(2);
        }
    }

    private NDList run(TrainTimeTestScript s, Batch batch, SoftLabels.Labels labels) {
        NDArray ids = batch.inputIds();
        int t = (int) ids.getShape().get(1);
        // Step k reads rows k..k+t-1 of positions 0..t+steps-2 (positions t + k).
        NDList table = ropeCache().fromZero(ids.getManager(), t + steps - 1, batch.aux().getDataType());
        return s.run(ids, batch.lossMask(), labels.targetP(), labels.positionMask(), batch.aux(), batch.bias(),
                table.get(0), table.get(1), draft);
    }

    /** The rope table on the device, kept with the draft's weights (made on first use). */
    private synchronized RopeCache ropeCache() {
        if (ropeCache == null) {
            ropeCache = new RopeCache(rope, draft.weight(DraftParams.EMBED).getManager().newSubManager());
        }
        return ropeCache;
    }
}
