package dev.eaglespark.bench;

import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.features.FeatureExtractor;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Stage-1 throughput at a target's real shapes with random weights, through the features stage's
 * own {@link FeatureExtractor}: batches of random token ids go through the target, the three aux
 * states are fused to [B, T, 3H] and, with the last hidden state, read to the host as fp16
 * bytes, one array per sample (what the features stage writes). On a GPU the extractor keeps one
 * batch in flight, so the time per batch is the interval between batches finishing, not one
 * batch's latency. Reports the median interval as tokens/s, useful TFLOP/s and the GPU memory in
 * use.
 */
public final class FeaturesBench {
    /** One measured configuration. */
    public record Result(int batch, int seqLen, double medianSeconds, double tokensPerSecond, double tflops,
                         long peakBytes) {
        public String format() {
            return String.format("batch %d x seq %d: median %.1f ms, %,.0f tokens/s, %.0f TFLOP/s, GPU memory %s",
                    batch, seqLen, medianSeconds * 1e3, tokensPerSecond, tflops, GpuMemory.format(peakBytes));
        }
    }

    private final TargetModel model;
    private final int[] aux;

    public FeaturesBench(TargetModel model, int[] aux) {
        this.model = model;
        this.aux = aux.clone();
    }

    /** Runs one more batch under PyTorch's profiler and writes its chrome trace to {@code file}. */
    public void profile(int batch, int seqLen, String file) {
        ai.djl.pytorch.jni.JniUtils.startProfile(model.device().isGpu(), false, false);
        run(batch, seqLen, 0, 1, 7);
        ai.djl.pytorch.jni.JniUtils.stopProfile(file);
    }

    public Result run(int batch, int seqLen, int warmup, int iterations, long seed) {
        TargetConfig cfg = model.config();
        Random random = new Random(seed);
        // One batch more than timed: the last batch has no successor to overlap with, so its
        // interval would be short; it is run but not counted.
        int batches = warmup + iterations + 1;
        Iterator<TokenizedSample> samples = IntStream.range(0, batches * batch)
                .mapToObj(i -> sample(i, random.ints(seqLen, 0, cfg.vocabSize()).toArray())).iterator();
        Iterator<FeatureRecord> records = new FeatureExtractor(model, aux, batch * seqLen, batch)
                .extract(samples, r -> {
                    throw new IllegalStateException("bench sample " + r.id() + " rejected: " + r.message());
                });
        double[] seconds = new double[iterations];
        long peak = -1;
        long last = System.nanoTime();
        for (int it = -warmup; it < iterations; it++) {
            for (int b = 0; b < batch; b++) {
                records.next();
            }
            long now = System.nanoTime();
            if (it >= 0) {
                seconds[it] = (now - last) / 1e9;
            }
            last = now;
            peak = Math.max(peak, GpuMemory.inUse(model.device()));
        }
        records.forEachRemaining(r -> { });
        double median = median(seconds);
        double tokens = (double) batch * seqLen;
        return new Result(batch, seqLen, median, tokens / median, tokens * flopsPerToken(cfg, seqLen) / median / 1e12,
                peak);
    }

    private static TokenizedSample sample(int i, int[] ids) {
        byte[] mask = new byte[ids.length];
        java.util.Arrays.fill(mask, (byte) 1);
        return new TokenizedSample("bench-" + i, ids, mask);
    }

    /** Matrix FLOPs per token: projections and MLP, plus causal attention (half of T x T). */
    static double flopsPerToken(TargetConfig c, int seqLen) {
        double h = c.hiddenSize();
        double q = (double) c.numHeads() * c.headDim();
        double kv = (double) c.numKvHeads() * c.headDim();
        double linear = h * (q + 2 * kv) + q * h + 3 * h * c.intermediateSize();
        double attention = 2.0 * seqLen * q; // QK^T and PV, 2 FLOPs per MAC, half the pairs
        return c.numLayers() * (2 * linear + attention);
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** The shapes {@code shapes} names: llama3.1-8b (built in) or a config.json path. */
    public static TargetConfig shapes(String shapes) throws java.io.IOException {
        String json = shapes.equals("llama3.1-8b") ? llama31_8bConfig()
                : java.nio.file.Files.readString(java.nio.file.Paths.get(shapes));
        return TargetConfig.parse(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json), shapes);
    }

    /** Llama-3.1-8B's shapes. */
    public static String llama31_8bConfig() {
        return """
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                 "vocab_size": 128256, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                 "max_position_embeddings": 131072, "tie_word_embeddings": false}""";
    }
}
