package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.draft.ComputeWeights;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.Eagle3Draft;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.draft.SoftLabels;
import dev.eaglespark.draft.TrainTimeTest;
import dev.eaglespark.runtime.GradMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One worker's training updates: forward and backward of each micro-batch on the compute
 * weights (the fp32 masters, or fp16 copies with a scaled loss), fp32 gradients summed over
 * micro-batches and unscaled, an optional hook to average gradients across workers, global-norm
 * clipping, AdamW on the fp32 masters. Every array of an update lives in a scope closed at its
 * end; no gradient carries over to the next update.
 */
public final class DraftTrainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(DraftTrainer.class);
    /**
     * Averages gradients across workers in place, with the step's statistics (loss, per-step loss
     * and accuracy: averaged) and counts (tokens: summed). Nothing to do for one worker.
     */
    public interface GradientReducer {
        GradientReducer SINGLE = (grads, means, sums) -> { };

        void reduce(Map<String, NDArray> grads, double[] means, long[] sums);
    }

    /** One micro-batch's arrays, made in the scope the trainer gives (closed after its backward). */
    public interface MicroBatch {
        TrainTimeTest.Inputs build(NDManager scope);
    }

    private final DraftParams params;
    private final ComputeWeights weights;
    private final TrainTimeTest ttt;
    private final TrainSettings settings;
    private final AdamW optimizer;
    private final LossScaler scaler;
    private final GradientReducer reducer;
    private long skipped;
    /** Whether the compute weights hold the masters as they are now (fp16 copies go stale at every update). */
    private boolean computeWeightsCurrent;

    /**
     * @param labels in the compute dtype of {@code settings}' precision on the parameters' device
     */
    public DraftTrainer(DraftParams params, DraftConfig cfg, SoftLabels labels, TrainSettings settings,
                        GradientReducer reducer) {
        Precision precision = settings.precision().on(params.manager().getDevice());
        this.params = params;
        this.settings = settings;
        this.reducer = reducer;
        this.weights = ComputeWeights.of(params, precision);
        this.ttt = new TrainTimeTest(new Eagle3Draft(cfg, weights.params()), settings.tttLength(),
                settings.stepDecay(), settings.loss(), labels, 0, settings.recompute());
        this.optimizer = new AdamW(params.manager(), 0.9, 0.95, 1e-8, settings.weightDecay());
        this.scaler = precision == Precision.FP16
                ? LossScaler.dynamic(settings.initialLossScale(), settings.lossScaleGrowthInterval())
                : LossScaler.none();
    }

    /** Updates skipped because their loss or gradients were not finite. */
    public long skippedUpdates() {
        return skipped;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public LossScaler lossScaler() {
        return scaler;
    }

    /** What a checkpoint's state.json carries besides the optimizer: the loss scale. */
    public void saveState(ObjectNode state) {
        scaler.save(state);
    }

    public void restoreState(JsonNode state) {
        scaler.restore(state);
    }

    /** One update over {@code microBatches}, each made on the device when its turn comes. */
    public StepMetrics update(List<MicroBatch> microBatches) {
        long start = System.nanoTime();
        long step = optimizer.steps();
        int steps = settings.tttLength();
        int n = microBatches.size();
        double scale = scaler.scale();
        long[] tokens = {0};
        weights.beginUpdate();
        computeWeightsCurrent = false; // the optimizer moves the masters below
        Map<String, NDArray> grads = Map.of();
        try {
            // [loss, per-step losses, per-step accuracies], averaged over micro-batches, then ranks
            float[] sums = forwardBackward(microBatches, scale, tokens);
            double[] means = new double[sums.length];
            for (int i = 0; i < sums.length; i++) {
                means[i] = sums[i] / n;
            }
            try (GradMode off = GradMode.off()) {
                grads = weights.gradients();
                reducer.reduce(grads, means, tokens);
                double loss = means[0];
                float[] stepLoss = new float[steps];
                float[] stepAcc = new float[steps];
                for (int k = 0; k < steps; k++) {
                    stepLoss[k] = (float) means[1 + k];
                    stepAcc[k] = (float) means[1 + steps + k];
                }
                double norm = GradientClipping.clip(grads.values(), settings.clipNorm());
                double lr = settings.schedule().at(step);
                // Averaged gradients are the same on every rank, so every rank decides the same.
                boolean finite = Double.isFinite(norm) && Double.isFinite(loss);
                if (finite) {
                    optimizer.update(params.trainableArrays(), grads, lr);
                } else {
                    skip(step, loss, norm, grads);
                }
                scaler.update(finite);
                return new StepMetrics(step + 1, loss, stepLoss, stepAcc, norm, lr, scale, tokens[0],
                        (System.nanoTime() - start) / 1e9);
            }
        } finally {
            grads.values().forEach(NDArray::close);
            weights.endUpdate();
        }
    }

    /**
     * Forward and backward of every micro-batch, gradients accumulated by {@code weights}; returns
     * the sums over micro-batches of the total loss, the per-step losses and the accuracies. Those
     * stay on the device until the last backward is queued: a read per micro-batch would make the
     * host wait for each backward before it could queue the next forward.
     */
    private float[] forwardBackward(List<MicroBatch> microBatches, double scale, long[] tokens) {
        int n = microBatches.size();
        NDManager scope = params.manager().newSubManager();
        NDManager nextScope = null;
        try (NDManager stats = params.manager().newSubManager()) {
            NDArray sums = null;
            TrainTimeTest.Inputs b = microBatches.get(0).build(scope);
            for (int j = 0; j < n; j++) {
                tokens[0] += b.tokens();
                TrainTimeTest.Output out;
                try (GradMode gc = GradMode.recording()) {
                    out = forward(b, (float) (scale / n));
                }
                // The next micro-batch goes to the device before this backward is queued: its
                // upload waits for the GPU to finish the forward, which costs nothing here.
                TrainTimeTest.Inputs next = null;
                if (j + 1 < n) {
                    nextScope = params.manager().newSubManager();
                    next = microBatches.get(j + 1).build(nextScope);
                }
                try (GradMode gc = GradMode.recording()) {
                    out.backward(gc);
                }
                NDArray micro = out.statistics();
                micro.attach(stats);
                sums = sums == null ? micro : sums.addi(micro);
                weights.afterBackward((float) (1 / scale));
                scope.close();
                scope = nextScope;
                nextScope = null;
                b = next;
            }
            return sums.toFloatArray();
        } finally {
            if (scope != null) {
                scope.close();
            }
            if (nextScope != null) {
                nextScope.close();
            }
        }
    }

    /**
     * What the training forward computes on {@code rows} with the weights as they are, without
     * gradients: per TTT step the sum over positions of the position's loss (the step's loss is
     * its mean over B x T positions), the correct predictions and the accuracy's denominator, and
     * each position's hits. Validation adds these up over held-out rows and simulates speculative
     * rounds on the hits.
     */
    public Score score(MicroBatch rows) {
        try (NDManager scope = params.manager().newSubManager(); GradMode off = GradMode.off()) {
            if (!computeWeightsCurrent) {
                weights.beginUpdate(); // fp16: copies of the masters as they are now
                computeWeightsCurrent = true;
            }
            TrainTimeTest.Inputs in = rows.build(scope);
            TrainTimeTest.Output out = ttt.score(settings.lossMask().align(in.batch()), in.lastHidden());
            long positions = in.batch().inputIds().getShape().size();
            float[] lossSums = out.stepLoss();
            for (int k = 0; k < lossSums.length; k++) {
                lossSums[k] *= positions;
            }
            int b = (int) in.batch().inputIds().getShape().get(0);
            int t = (int) in.batch().inputIds().getShape().get(1);
            return new Score(lossSums, out.stepCorrect(), out.stepCounted(), b, in.tokens(),
                    new StepHits(out.hits(), t, settings.tttLength()));
        }
    }

    /** One scored micro-batch (see {@link #score}). */
    public record Score(float[] lossSums, float[] correct, float[] counted, int rows, long tokens, StepHits hits) {}

    /**
     * The train-time-test forward of one micro-batch, its loss mask aligned as the settings say,
     * and its head and loss with gradients times {@code gradScale}.
     */
    private TrainTimeTest.Output forward(TrainTimeTest.Inputs in, float gradScale) {
        return ttt.run(settings.lossMask().align(in.batch()), in.lastHidden(), gradScale);
    }

    /**
     * One bad batch must not poison the weights: the update is skipped, the step count moves on.
     * In fp16 an overflow is how the loss scale finds its level, so that is no warning.
     */
    private void skip(long step, double loss, double norm, Map<String, NDArray> grads) {
        skipped++;
        optimizer.skip();
        if (scaler.isDynamic()) {
            LOG.info("update {}: gradients overflowed at loss scale {}; update skipped, scale halved ({} skipped)",
                    step + 1, scaler.scale(), skipped);
        } else {
            LOG.warn("update {}: loss {} gradient norm {} not finite (in {}); update skipped ({} so far)",
                    step + 1, loss, norm, nonFinite(grads), skipped);
        }
    }


    /** The weights whose gradients hold inf or NaN, for the warning. */
    private static List<String> nonFinite(Map<String, NDArray> grads) {
        List<String> bad = new ArrayList<>();
        grads.forEach((name, g) -> {
            try (NDManager tmp = g.getManager().newSubManager()) {
                g.tempAttach(tmp);
                if (g.isNaN().logicalOr(g.isInfinite()).any().getBoolean()) {
                    bad.add(name);
                }
            }
        });
        return bad;
    }

    @Override
    public void close() {
        weights.close();
        optimizer.close();
    }
}
