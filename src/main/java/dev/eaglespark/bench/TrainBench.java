package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.draft.SoftLabels;
import dev.eaglespark.draft.TrainTimeTest;
import dev.eaglespark.train.DraftTrainer;
import dev.eaglespark.train.StepMetrics;
import dev.eaglespark.train.TrainSettings;
import dev.eaglespark.vocab.DraftVocab;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Stage-2 throughput: full training updates of a draft with random weights (drawn on the
 * device; the target's embeddings, final norm and lm_head random too) on random features made
 * on the device (fp16 aux and last hidden states as stage 1 stores them, random ids, every
 * token in the loss). One update is what {@link DraftTrainer} does in training: soft labels,
 * train-time-test forward and backward, unscaling, clipping, AdamW.
 */
public final class TrainBench implements AutoCloseable {
    /** One measured configuration. */
    /** medianSeconds: per micro-batch (an update's time over its micro-batches). */
    public record Result(Precision precision, int batch, int seqLen, int microBatches, double medianSeconds,
                         double tokensPerSecond, double tflops, long peakBytes, long skipped) {
        public String format() {
            return String.format("%s batch %d x seq %d%s: median %.1f ms/step, %,.0f tokens/s, %.1f TFLOP/s, GPU memory "
                    + "%s, %d updates skipped (loss scale)", precision, batch, seqLen,
                    microBatches == 1 ? "" : ", " + microBatches + " micro-batches per update (ms per micro-batch)",
                    medianSeconds * 1e3, tokensPerSecond, tflops, GpuMemory.format(peakBytes), skipped);
        }
    }

    private final DraftConfig cfg;
    private final Device device;
    private final Precision precision;
    private final int ttt;
    private final NDManager frozen;
    private final DraftParams params;
    private final SoftLabels labels;
    private final DraftTrainer trainer;

    public TrainBench(DraftConfig cfg, Device device, Precision precision, int ttt) {
        this(cfg, device, precision, ttt, DraftTrainer.GradientReducer.SINGLE);
    }

    /** One rank of data-parallel training: {@code reducer} averages the gradients across ranks. */
    public TrainBench(DraftConfig cfg, Device device, Precision precision, int ttt, DraftTrainer.GradientReducer reducer) {
        this.cfg = cfg;
        this.device = device;
        this.precision = precision.on(device);
        this.ttt = ttt;
        this.frozen = NDManager.newBaseManager(device);
        DraftVocab vocab = DraftVocab.fromCounts(new long[cfg.targetVocabSize()], cfg.draftVocabSize());
        Shape head = new Shape(cfg.targetVocabSize(), cfg.targetHiddenSize());
        NDArray targetHead = frozen.randomNormal(0, 0.02f, head, DataType.FLOAT32);
        this.params = new DraftParams(device);
        for (Map.Entry<String, long[]> e : DraftParams.shapes(cfg).entrySet()) {
            Shape shape = new Shape(e.getValue());
            params.put(e.getKey(), e.getKey().endsWith("norm.weight") ? frozen.ones(shape)
                    : e.getKey().equals(DraftParams.LM_HEAD) ? DraftParams.vocabRows(targetHead, vocab, frozen)
                    : frozen.randomNormal(0, 0.02f, shape, DataType.FLOAT32), true);
        }
        params.put(DraftParams.EMBED, frozen.randomNormal(0, 0.02f, head, DataType.FLOAT32), false);
        this.labels = new SoftLabels(frozen.ones(new Shape(cfg.targetHiddenSize())), targetHead, cfg.rmsNormEps(),
                vocab, this.precision.dataType());
        TrainSettings settings = new TrainSettings(ttt, 0.8, LossType.FORWARD_KL, 1e-4, 1e-5, 0, 1_000_000, 0.0, 0.5,
                1, 1, 0, this.precision, TrainSettings.DEFAULT_LOSS_SCALE, TrainSettings.DEFAULT_GROWTH_INTERVAL);
        this.trainer = new DraftTrainer(params, cfg, labels, null, settings, reducer);
        frozen.close(); // everything above holds its own copies
    }

    /** The trainable weights now, by name (checks compare runs with them). */
    public Map<String, float[]> trainableWeights() {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        params.trainableArrays().forEach((name, w) -> out.put(name, w.toFloatArray()));
        return out;
    }

    /** Runs one more update under PyTorch's profiler and writes its chrome trace to {@code file}. */
    public void profile(int batch, int seqLen, String file) {
        JniUtils.startProfile(device.isGpu(), false, false);
        run(batch, seqLen, 0, 1);
        JniUtils.stopProfile(file);
    }

    public Result run(int batch, int seqLen, int warmup, int iterations) {
        return run(batch, seqLen, 1, warmup, iterations);
    }

    /** Updates of {@code microBatches} micro-batches each (gradient accumulation), timed per micro-batch. */
    public Result run(int batch, int seqLen, int microBatches, int warmup, int iterations) {
        List<DraftTrainer.MicroBatch> update = java.util.Collections.nCopies(microBatches,
                scope -> randomBatch(scope, batch, seqLen));
        double[] seconds = new double[iterations];
        long peak = -1;
        long skippedBefore = trainer.skippedUpdates();
        for (int it = -warmup; it < iterations; it++) {
            long start = System.nanoTime();
            StepMetrics m = trainer.update(update);
            params.get("norm.weight").toFloatArray(); // waits for the optimizer's kernels
            if (it >= 0) {
                seconds[it] = (System.nanoTime() - start) / 1e9 / microBatches;
            }
            peak = Math.max(peak, GpuMemory.inUse(device));
            if (!Double.isFinite(m.loss())) {
                throw new IllegalStateException("loss not finite: " + m.format());
            }
        }
        double median = FeaturesBench.median(seconds);
        double tokens = (double) batch * seqLen;
        return new Result(precision, batch, seqLen, microBatches, median, tokens / median,
                tokens * flopsPerToken(cfg, seqLen, ttt) / median / 1e12, peak, trainer.skippedUpdates() - skippedBefore);
    }

    /** Random stage-1 features on the device: fp16 states, ids below the target vocabulary, full loss mask. */
    private TrainTimeTest.Inputs randomBatch(NDManager m, int b, int t) {
        DataType dtype = precision.dataType();
        NDArray aux = m.randomNormal(0, 1, new Shape(b, t, (long) cfg.numAux() * cfg.targetHiddenSize()),
                DataType.FLOAT32).toType(DataType.FLOAT16, false).toType(dtype, false);
        NDArray last = m.randomNormal(0, 1, new Shape(b, t, cfg.targetHiddenSize()), DataType.FLOAT32)
                .toType(DataType.FLOAT16, false).toType(dtype, false);
        NDArray ids = m.randomInteger(0, cfg.targetVocabSize(), new Shape(b, t), DataType.INT64);
        long[] lengths = new long[b];
        Arrays.fill(lengths, t);
        TrainTimeTest.Batch batch = TrainTimeTest.Batch.of(ids, lengths, m.ones(new Shape(b, t)), aux);
        return new TrainTimeTest.Inputs(batch, last, (long) b * t);
    }

    /**
     * Useful matrix FLOPs of one update per token: 3x (forward and backward) of fc once plus, per
     * TTT step, q/k/v (2H wide input), o, the SwiGLU MLP, the draft lm_head and causal attention
     * over the step-0 keys (QK^T and PV over half the pairs); plus the soft labels' forward-only
     * lm_head over the target vocabulary. The own-position keys of later steps are left out (4 x
     * heads x head_dim per step, negligible).
     */
    static double flopsPerToken(DraftConfig c, int seqLen, int ttt) {
        double h = c.hiddenSize();
        double q = c.qDim();
        double kv = c.kvDim();
        double fc = 2.0 * c.numAux() * c.targetHiddenSize() * h;
        double layer = 2 * (2 * h * (q + 2 * kv) + q * h + 3 * h * c.intermediateSize() + h * c.draftVocabSize());
        double attention = 2.0 * seqLen * q;
        double softLabels = 2.0 * c.targetHiddenSize() * c.targetVocabSize();
        return 3 * (fc + ttt * (layer + attention)) + softLabels;
    }

    @Override
    public void close() {
        trainer.close();
        labels.close();
        params.close();
    }
}
