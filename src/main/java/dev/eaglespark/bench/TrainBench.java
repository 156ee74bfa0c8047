package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.draft.SoftLabels;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.draft.TrainTimeTest;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.train.DraftTrainer;
import dev.eaglespark.train.OnlineFeatures;
import dev.eaglespark.train.StepMetrics;
import dev.eaglespark.train.TrainSettings;
import dev.eaglespark.vocab.DraftVocab;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Stage-2 throughput: full training updates of a draft with random weights (drawn on the
 * device; the target's embeddings, final norm and lm_head random too; a draft vocabulary as
 * wide as the target's is the shared head, the target's lm_head frozen) on random features made
 * on the device (fp16 aux and last hidden states as stage 1 stores them, random ids, every
 * token in the loss). One update is what {@link DraftTrainer} does in training: soft labels,
 * train-time-test forward and backward, unscaling, clipping, AdamW.
 */
public final class TrainBench implements AutoCloseable {
    /**
     * One measured configuration. medianSeconds: per micro-batch (an update's time over its
     * micro-batches). peakBytes: on a GPU the memory in use after the updates (PyTorch keeps the
     * blocks it cached at the peak); on the CPU the most an update raised the resident size.
     */
    public record Result(Precision precision, int batch, int seqLen, int microBatches, double medianSeconds,
                         double tokensPerSecond, double tflops, long peakBytes, long skipped, boolean gpu) {
        public String format() {
            return String.format("%s batch %d x seq %d%s: median %.1f ms/step, %,.0f tokens/s, %.1f TFLOP/s, %s %s, "
                    + "%d updates skipped (loss scale)", precision, batch, seqLen,
                    microBatches == 1 ? "" : ", " + microBatches + " micro-batches per update (ms per micro-batch)",
                    medianSeconds * 1e3, tokensPerSecond, tflops, gpu ? "GPU memory" : "host memory added by an update",
                    gpu ? GpuMemory.format(peakBytes) : String.format("%.1f MiB", peakBytes / 1048576.0), skipped);
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
    private OnlineFeatures online;
    private TargetConfig target;

    public TrainBench(DraftConfig cfg, Device device, Precision precision, int ttt) {
        this(cfg, device, precision, ttt, DraftTrainer.GradientReducer.SINGLE, false);
    }

    /** With {@code recompute}: the TTT steps recomputed one at a time in the backward. */
    public TrainBench(DraftConfig cfg, Device device, Precision precision, int ttt, boolean recompute) {
        this(cfg, device, precision, ttt, DraftTrainer.GradientReducer.SINGLE, recompute);
    }

    /**
     * Also online training: {@code target} (on the same device, its shapes those of {@code cfg}'s
     * target) makes each micro-batch's features from random token ids inside the update.
     */
    public TrainBench(DraftConfig cfg, Precision precision, int ttt, TargetModel target, boolean recompute) {
        this(cfg, target.device(), precision, ttt, DraftTrainer.GradientReducer.SINGLE, recompute);
        this.online = new OnlineFeatures(target, FeatureSettings.defaultAux(target.config().numLayers()),
                this.precision.dataType());
        this.target = target.config();
    }

    /** One rank of data-parallel training: {@code reducer} averages the gradients across ranks. */
    public TrainBench(DraftConfig cfg, Device device, Precision precision, int ttt, DraftTrainer.GradientReducer reducer) {
        this(cfg, device, precision, ttt, reducer, false);
    }

    private TrainBench(DraftConfig cfg, Device device, Precision precision, int ttt,
                       DraftTrainer.GradientReducer reducer, boolean recompute) {
        this.cfg = cfg;
        this.device = device;
        this.precision = precision.on(device);
        this.ttt = ttt;
        this.frozen = NDManager.newBaseManager(device);
        // A draft vocabulary as wide as the target's is the shared head: the target's own, frozen.
        boolean shared = sharedHead(cfg);
        DraftVocab vocab = shared ? DraftVocab.identity(cfg.targetVocabSize())
                : DraftVocab.fromCounts(new long[cfg.targetVocabSize()], cfg.draftVocabSize());
        Shape head = new Shape(cfg.targetVocabSize(), cfg.targetHiddenSize());
        NDArray targetHead = frozen.randomNormal(0, 0.02f, head, DataType.FLOAT32);
        this.params = new DraftParams(device);
        for (Map.Entry<String, long[]> e : DraftParams.shapes(cfg).entrySet()) {
            Shape shape = new Shape(e.getValue());
            boolean lmHead = e.getKey().equals(DraftParams.LM_HEAD);
            params.put(e.getKey(), e.getKey().endsWith("norm.weight") ? frozen.ones(shape)
                    : lmHead ? DraftParams.vocabRows(targetHead, vocab, frozen)
                    : frozen.randomNormal(0, 0.02f, shape, DataType.FLOAT32), !(lmHead && shared));
        }
        params.put(DraftParams.EMBED, frozen.randomNormal(0, 0.02f, head, DataType.FLOAT32), false);
        this.labels = new SoftLabels(frozen.ones(new Shape(cfg.targetHiddenSize())), targetHead, cfg.rmsNormEps(),
                vocab, this.precision.dataType());
        TrainSettings settings = TrainSettings.builder().tttLength(ttt).warmupSteps(0).totalSteps(1_000_000)
                .precision(this.precision).recompute(recompute).build();
        this.trainer = new DraftTrainer(params, cfg, labels, settings, reducer);
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
        return run(batch, seqLen, microBatches, warmup, iterations, false);
    }

    /**
     * With {@code online}, each micro-batch's features come from the target inside the update
     * (random token ids through it), and FLOPs count its forward too.
     */
    public Result run(int batch, int seqLen, int microBatches, int warmup, int iterations, boolean online) {
        if (online && this.online == null) {
            throw new IllegalStateException("online training needs a bench made with a target");
        }
        List<TokenizedSample> samples = online ? randomSamples(batch, seqLen) : null;
        List<DraftTrainer.MicroBatch> update = java.util.Collections.nCopies(microBatches,
                online ? scope -> this.online.build(scope, samples) : scope -> randomBatch(scope, batch, seqLen));
        double[] seconds = new double[iterations];
        long peak = -1;
        long skippedBefore = trainer.skippedUpdates();
        for (int it = -warmup; it < iterations; it++) {
            long resting = device.isGpu() || !HostMemory.resetPeak() ? -1 : HostMemory.residentBytes();
            long start = System.nanoTime();
            StepMetrics m = trainer.update(update);
            if (online) {
                this.online.reportNonFinite(r -> {
                    throw new IllegalStateException("bench sample " + r.id() + " rejected: " + r.message());
                });
            }
            params.get("norm.weight").toFloatArray(); // waits for the optimizer's kernels
            if (it >= 0) {
                seconds[it] = (System.nanoTime() - start) / 1e9 / microBatches;
            }
            peak = Math.max(peak, device.isGpu() ? GpuMemory.inUse(device)
                    : resting < 0 ? -1 : HostMemory.peakBytes() - resting);
            if (!Double.isFinite(m.loss())) {
                throw new IllegalStateException("loss not finite: " + m.format());
            }
        }
        double median = FeaturesBench.median(seconds);
        double tokens = (double) batch * seqLen;
        double flops = flopsPerToken(cfg, seqLen, ttt) + (online ? FeaturesBench.flopsPerToken(target, seqLen) : 0);
        return new Result(precision, batch, seqLen, microBatches, median, tokens / median,
                tokens * flops / median / 1e12, peak, trainer.skippedUpdates() - skippedBefore, device.isGpu());
    }

    /** Random token ids below the target vocabulary, every token in the loss. */
    private List<TokenizedSample> randomSamples(int b, int t) {
        java.util.Random random = new java.util.Random(7);
        List<TokenizedSample> out = new java.util.ArrayList<>();
        for (int i = 0; i < b; i++) {
            byte[] mask = new byte[t];
            Arrays.fill(mask, (byte) 1);
            out.add(new TokenizedSample("bench-" + i, random.ints(t, 0, cfg.targetVocabSize()).toArray(), mask));
        }
        return out;
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
     * TTT step, q/k/v (2H wide input), o, the SwiGLU MLP, the draft lm_head (2x when frozen: no
     * weight gradient) and causal attention over the step-0 keys (QK^T and PV over half the
     * pairs); plus the soft labels' forward-only
     * lm_head over the target vocabulary. The own-position keys of later steps are left out (4 x
     * heads x head_dim per step, negligible).
     */
    static double flopsPerToken(DraftConfig c, int seqLen, int ttt) {
        double h = c.hiddenSize();
        double q = c.qDim();
        double kv = c.kvDim();
        double fc = 2.0 * c.numAux() * c.targetHiddenSize() * h;
        double layer = 2 * (2 * h * (q + 2 * kv) + q * h + 3 * h * c.intermediateSize());
        double head = 2.0 * h * c.draftVocabSize();
        double attention = 2.0 * seqLen * q;
        double softLabels = 2.0 * c.targetHiddenSize() * c.targetVocabSize();
        // A frozen (shared) head has no weight gradient: forward and input gradient only.
        double headPasses = sharedHead(c) ? 2 : 3;
        return 3 * (fc + ttt * (layer + attention)) + ttt * headPasses * head + softLabels;
    }

    /** Whether the bench trains the shared-head variant: the draft vocabulary is the target's. */
    static boolean sharedHead(DraftConfig c) {
        return c.draftVocabSize() == c.targetVocabSize();
    }

    @Override
    public void close() {
        if (online != null) {
            online.close();
        }
        trainer.close();
        labels.close();
        params.close();
    }
}
