package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.GradMode;
import dev.eaglespark.draft.Eagle3Draft;
import dev.eaglespark.draft.SoftLabels;
import dev.eaglespark.draft.TrainTimeTest;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.model.Ops;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One worker's training updates: forward and backward of each micro-batch (gradients add up
 * in the parameters' .grad), an optional hook to average gradients across workers, global-norm
 * clipping, AdamW. Every array of an update lives in a scope closed at its end; gradient
 * wrappers are closed and gradients zeroed after each update.
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

    private final DraftParams params;
    private final TrainTimeTest ttt;
    private final SoftLabels labels;
    private final BatchBuilder batches;
    private final TrainSettings settings;
    private final AdamW optimizer;
    private final GradientReducer reducer;
    private long skipped;

    public DraftTrainer(DraftParams params, Eagle3Draft draft, SoftLabels labels, BatchBuilder batches,
                        TrainSettings settings, GradientReducer reducer) {
        this.params = params;
        this.labels = labels;
        this.batches = batches;
        this.settings = settings;
        this.reducer = reducer;
        this.ttt = new TrainTimeTest(draft, settings.tttLength(), settings.stepDecay(), settings.loss());
        this.optimizer = new AdamW(params.manager(), 0.9, 0.95, 1e-8, settings.weightDecay());
    }

    /** Updates skipped because their loss or gradients were not finite. */
    public long skippedUpdates() {
        return skipped;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** One update over {@code microBatches} (each a list of rows). */
    public StepMetrics step(List<List<FeatureRecord>> microBatches) {
        long start = System.nanoTime();
        long step = optimizer.steps();
        int steps = settings.tttLength();
        float[] stepLoss = new float[steps];
        float[] stepAcc = new float[steps];
        double loss = 0;
        long[] tokens = {0};
        for (List<FeatureRecord> rows : microBatches) {
            try (NDManager scope = params.manager().newSubManager()) {
                BatchBuilder.Built b = batches.build(scope, rows);
                tokens[0] += b.tokens();
                TrainTimeTest.Output out;
                try (GradMode gc = GradMode.recording()) {
                    out = ttt.run(b.batch(), labels.labels(b.lastHidden(), b.batch().lossMask()));
                    gc.backward(Ops.scale(out.total(), 1f / microBatches.size()));
                }
                loss += out.total().getFloat() / microBatches.size();
                for (int k = 0; k < steps; k++) {
                    stepLoss[k] += out.stepLoss()[k] / microBatches.size();
                    stepAcc[k] += out.stepAcc()[k] / microBatches.size();
                }
            }
        }
        Map<String, NDArray> grads = new LinkedHashMap<>();
        Map<String, NDArray> trainable = new LinkedHashMap<>();
        try (GradMode off = GradMode.off()) {
            for (String name : params.trainable()) {
                trainable.put(name, params.get(name));
                grads.put(name, params.get(name).getGradient());
            }
            double[] means = new double[1 + 2 * steps];
            means[0] = loss;
            for (int k = 0; k < steps; k++) {
                means[1 + k] = stepLoss[k];
                means[1 + steps + k] = stepAcc[k];
            }
            reducer.reduce(grads, means, tokens);
            loss = means[0];
            for (int k = 0; k < steps; k++) {
                stepLoss[k] = (float) means[1 + k];
                stepAcc[k] = (float) means[1 + steps + k];
            }
            double norm = GradientClipping.clip(grads.values(), settings.clipNorm());
            double lr = settings.schedule().at(step);
            if (Double.isFinite(norm) && Double.isFinite(loss)) {
                optimizer.update(trainable, grads, lr);
            } else {
                // One bad batch must not poison the weights: skip the update, keep the step count.
                skipped++;
                optimizer.skip();
                LOG.warn("update {}: loss {} gradient norm {} not finite (in {}); update skipped ({} so far)",
                        step + 1, loss, norm, nonFinite(grads), skipped);
            }
            return new StepMetrics(step + 1, loss, stepLoss, stepAcc, norm, lr, tokens[0],
                    (System.nanoTime() - start) / 1e9);
        } finally {
            grads.values().forEach(NDArray::close);
            trainable.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
        }
    }

    /** The weights whose gradients hold inf or NaN, for the warning. */
    private static List<String> nonFinite(Map<String, NDArray> grads) {
        List<String> bad = new java.util.ArrayList<>();
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
        optimizer.close();
    }
}
