package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.model.Attention;
import dev.eaglespark.model.Ops;
import dev.eaglespark.model.RopePrecision;
import dev.eaglespark.model.RotaryEmbedding;
import java.util.ArrayList;
import java.util.List;

/**
 * EAGLE-3's training loop over one batch: k = 0..ttt-1 steps, each feeding the draft its own
 * previous hidden state; step k rotates queries and keys at positions t + k; the ids, target
 * distributions and masks move left by one per step (the draft is predicting one token further
 * ahead). Loss = sum over steps of 0.8^k * loss_k.
 */
public final class TrainTimeTest {
    private final Eagle3Draft draft;
    private final int steps;
    private final double decay;
    private final LossType loss;
    private final RotaryEmbedding rope;

    public TrainTimeTest(Eagle3Draft draft, int steps, double decay, LossType loss) {
        this.draft = draft;
        this.steps = steps;
        this.decay = decay;
        this.loss = loss;
        DraftConfig c = draft.config();
        this.rope = new RotaryEmbedding(c.rope(), c.headDim(), RopePrecision.FP32);
    }

    /**
     * The batch of one forward: ids [B, T], attention and loss masks [B, T], aux [B, T, 3Ht] in
     * the compute dtype (the draft's weights must be in it too).
     */
    public record Batch(NDArray inputIds, long[] lengths, NDArray lossMask, NDArray aux) {}

    /**
     * Weighted total (differentiable), per-step losses and accuracies. The per-step values stay
     * on the device until first asked for: reading a number waits for the GPU, and a wait per
     * step would stop the host from queueing the next step's work (and the backward) meanwhile.
     */
    public static final class Output {
        private final NDArray total;
        private final NDArray perStep; // [2, steps]: losses, accuracies
        private float[] values;

        Output(NDArray total, NDArray perStep) {
            this.total = total;
            this.perStep = perStep;
        }

        public NDArray total() {
            return total;
        }

        public float[] stepLoss() {
            return java.util.Arrays.copyOfRange(values(), 0, values().length / 2);
        }

        public float[] stepAcc() {
            return java.util.Arrays.copyOfRange(values(), values().length / 2, values().length);
        }

        private float[] values() {
            if (values == null) {
                values = perStep.toFloatArray();
            }
            return values;
        }
    }

    public Output run(Batch batch, SoftLabels.Labels labels) {
        NDArray ids = Shift.left(batch.inputIds(), 0);
        NDArray lossMask = batch.lossMask().toType(DataType.FLOAT32, false);
        NDArray targetP = labels.targetP();
        NDArray positionMask = labels.positionMask();
        long t = ids.getShape().get(1);
        long k = targetP.getShape().get(2);
        DataType compute = batch.aux().getDataType(); // fp16 features feed an fp16 draft
        NDArray bias = Attention.causalBias(ids.getManager(), batch.lengths(), (int) t, compute);
        NDArray h = draft.project(batch.aux());
        List<NDArray> keys = new ArrayList<>();
        List<NDArray> values = new ArrayList<>();
        NDArray total = null;
        NDList stepLoss = new NDList();
        NDList stepAcc = new NDList();
        // One table for positions 0..t+steps-2; step k reads rows k..k+t-1 (positions t + k).
        NDList table = rope.table(ids.getManager(), 0, (int) t + steps - 1, compute);
        for (int step = 0; step < steps; step++) {
            NDArray cos = table.get(0).get("{}:{}", step, step + t);
            NDArray sin = table.get(1).get("{}:{}", step, step + t);
            h = draft.step(draft.embed(ids), h, cos, sin, bias, keys, values);
            NDArray logits = draft.logits(h);
            NDArray l = stepLoss(logits, targetP, positionMask);
            total = total == null ? l : total.add(Ops.scale(l, (float) Math.pow(decay, step)));
            stepLoss.add(l.stopGradient());
            stepAcc.add(accuracy(logits, targetP, positionMask, lossMask));
            if (step + 1 < steps) {
                ids = Shift.left(ids, 0);
                targetP = Shift.left(targetP, 1f / k);
                positionMask = Shift.left(positionMask, 0);
                lossMask = Shift.left(lossMask, 0);
            }
        }
        NDArray perStep = NDArrays.stack(new NDList(NDArrays.stack(stepLoss), NDArrays.stack(stepAcc)));
        return new Output(total, perStep);
    }

    /**
     * Mean over all B*T positions (masked ones count in the denominator), as the reference does;
     * in fp32 whatever the logits' dtype.
     */
    private NDArray stepLoss(NDArray logits, NDArray targetP, NDArray positionMask) {
        NDArray logP = Ops.logSoftmax(logits, 2, DataType.FLOAT32);
        NDArray perPosition;
        if (loss == LossType.FORWARD_KL) {
            perPosition = positionMask.mul(targetP).mul(logP).sum(new int[] {2}).neg();
        } else {
            NDArray p = logP.exp();
            perPosition = positionMask.mul(p).mul(logP.sub(targetP.add(1e-8f).log())).sum(new int[] {2});
        }
        return perPosition.mean();
    }

    /** Hits among the loss-mask positions, a scalar on the device. */
    private static NDArray accuracy(NDArray logits, NDArray targetP, NDArray positionMask, NDArray lossMask) {
        NDArray hit = logits.argMax(2).eq(targetP.argMax(2)).toType(DataType.FLOAT32, false);
        NDArray correct = hit.mul(positionMask.squeeze(2)).sum();
        return correct.div(lossMask.sum().maximum(1e-6f));
    }
}
