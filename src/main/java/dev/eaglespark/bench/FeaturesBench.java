package dev.eaglespark.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.model.ForwardRequest;
import dev.eaglespark.model.ForwardResult;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Stage-1 throughput at a target's real shapes with random weights: per iteration, a batch of
 * random token ids goes through the target, the three aux states are fused to [B, T, 3H] and,
 * with the last hidden state, copied to the host as fp16 bytes (what the features stage
 * writes). Reports median tokens/s, useful TFLOP/s and the GPU memory in use.
 */
public final class FeaturesBench {
    /** One measured configuration. */
    public record Result(int batch, int seqLen, double medianSeconds, double tokensPerSecond, double tflops,
                         long peakBytes, double medianDispatchSeconds) {
        public String format() {
            return String.format("batch %d x seq %d: median %.1f ms, %,.0f tokens/s, %.0f TFLOP/s, GPU memory %s; "
                            + "host done queueing the forward after %.1f ms", batch, seqLen, medianSeconds * 1e3,
                    tokensPerSecond, tflops, GpuMemory.format(peakBytes), medianDispatchSeconds * 1e3);
        }
    }

    private final TargetModel model;
    private final int[] aux;

    public FeaturesBench(TargetModel model, int[] aux) {
        this.model = model;
        this.aux = aux.clone();
    }

    /** Runs one more iteration under PyTorch's profiler and writes its chrome trace to {@code file}. */
    public void profile(int batch, int seqLen, String file) {
        ai.djl.pytorch.jni.JniUtils.startProfile(model.device().isGpu(), false, false);
        run(batch, seqLen, 0, 1, 7);
        ai.djl.pytorch.jni.JniUtils.stopProfile(file);
    }

    public Result run(int batch, int seqLen, int warmup, int iterations, long seed) {
        TargetConfig cfg = model.config();
        Random random = new Random(seed);
        double[] seconds = new double[iterations];
        double[] dispatch = new double[iterations];
        long peak = -1;
        for (int it = -warmup; it < iterations; it++) {
            List<long[]> seqs = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                seqs.add(random.longs(seqLen, 0, cfg.vocabSize()).toArray());
            }
            long start = System.nanoTime();
            try (NDManager m = NDManager.newBaseManager(model.device())) {
                ForwardResult r = model.forward(m, seqs, ForwardRequest.features(aux));
                if (it >= 0) { // until here the host only queued work; a GPU-bound forward is still running
                    dispatch[it] = (System.nanoTime() - start) / 1e9;
                }
                NDArray fused = r.fusedAux(aux).toType(DataType.FLOAT16, false);
                NDArray last = r.lastHidden().toType(DataType.FLOAT16, false);
                // The copy to the host (as the features stage makes it) also waits for the GPU.
                model.hostStaging().read(fused, b -> b.get(0));
                model.hostStaging().read(last, b -> b.get(0));
                peak = Math.max(peak, GpuMemory.inUse(model.device()));
            }
            if (it >= 0) {
                seconds[it] = (System.nanoTime() - start) / 1e9;
            }
        }
        double median = median(seconds);
        double tokens = (double) batch * seqLen;
        return new Result(batch, seqLen, median, tokens / median, tokens * flopsPerToken(cfg, seqLen) / median / 1e12,
                peak, median(dispatch));
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
