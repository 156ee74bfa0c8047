package dev.eaglespark.bench;

import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The regenerate stage's decoding at a target's real shapes with random weights: batches of
 * random prompts through {@link Generator} (greedy, no stop token, so every row runs to the
 * token limit). A generation is a prefill and then one decode step per further token; each
 * iteration times a generation of one token (prefill and the first pick) and one of
 * {@code newTokens}, so a decode step is their difference over the extra steps. Reports the
 * medians: prefill, ms per decode step and decoded tokens/s (batch / step time).
 */
public final class DecodeBench {
    /** One measured configuration. */
    public record Result(int batch, int promptLen, int newTokens, double prefillSeconds, double stepSeconds,
                         long weightBytes, long peakBytes) {
        public double tokensPerSecond() {
            return batch / stepSeconds;
        }

        public String format() {
            return String.format("batch %d, prompt %d, %d new tokens: prefill %.1f ms, decode %.2f ms per step, "
                            + "%,.0f tokens/s, weights read at %.0f GB/s, GPU memory %s", batch, promptLen, newTokens,
                    prefillSeconds * 1e3, stepSeconds * 1e3, tokensPerSecond(), weightBytes / stepSeconds / 1e9,
                    GpuMemory.format(peakBytes));
        }
    }

    private final TargetModel model;

    public DecodeBench(TargetModel model) {
        this.model = model;
    }

    /** @param newTokens at least 2: the steps after the first token are what is timed */
    public Result run(int batch, int promptLen, int newTokens, int warmup, int iterations, long seed) {
        if (newTokens < 2 || iterations < 1) {
            throw new IllegalArgumentException("the decode bench needs at least 2 new tokens and 1 iteration");
        }
        Generator generator = new Generator(model, Set.of());
        Random random = new Random(seed);
        double[] prefill = new double[iterations];
        double[] step = new double[iterations];
        long peak = -1;
        for (int it = -warmup; it < iterations; it++) {
            List<long[]> prompts = prompts(random, batch, promptLen);
            double first = seconds(generator, prompts, 1);
            double all = seconds(generator, prompts, newTokens);
            if (it >= 0) {
                prefill[it] = first;
                step[it] = (all - first) / (newTokens - 1);
            }
            peak = Math.max(peak, GpuMemory.inUse(model.device()));
        }
        return new Result(batch, promptLen, newTokens, FeaturesBench.median(prefill), FeaturesBench.median(step),
                weightBytes(model.config(), model.dtype().getNumOfBytes()), peak);
    }

    private List<long[]> prompts(Random random, int batch, int promptLen) {
        int vocab = model.config().vocabSize();
        List<long[]> prompts = new ArrayList<>();
        for (int r = 0; r < batch; r++) {
            prompts.add(random.longs(promptLen, 0, vocab).toArray());
        }
        return prompts;
    }

    /** Seconds of one generation; it returns only once every token is on the host. */
    private static double seconds(Generator generator, List<long[]> prompts, int newTokens) {
        List<Generator.Request> requests = prompts.stream().map(p -> Generator.Request.greedy(p, newTokens)).toList();
        long start = System.nanoTime();
        List<Generator.Result> results = generator.generate(requests);
        double s = (System.nanoTime() - start) / 1e9;
        for (Generator.Result r : results) {
            if (r.tokens().length != newTokens) {
                throw new IllegalStateException("a row stopped after " + r.tokens().length + " of " + newTokens);
            }
        }
        return s;
    }

    /** The bytes of weights a decode step reads (layers and lm_head): its floor is their read at memory speed. */
    static long weightBytes(TargetConfig c, int bytesPerValue) {
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long layer = h * (q + 2 * kv) + q * h + 3 * h * c.intermediateSize();
        return (c.numLayers() * layer + h * (long) c.vocabSize()) * bytesPerValue; // the lm_head too
    }
}
