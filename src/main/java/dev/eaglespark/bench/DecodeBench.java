package dev.eaglespark.bench;

import dev.eaglespark.model.ContinuousBatcher;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.SlotCache;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The regenerate stage's decoding at a target's real shapes with random weights, greedy, no
 * stop token, so every row runs to its token limit. Two kinds of work:
 * <ul>
 *   <li>fixed shapes ({@link #run}): a batch of random prompts of one length, every row to the
 *       same limit; each iteration times generations of one token (prefill and the first pick),
 *       of two and of {@code newTokens}: a decode step is the difference of the last two over the
 *       extra steps (the first step of a generation at a new shape captures its CUDA graph on a
 *       GPU, a one-off cost, in both).
 *       Against the step's memory floor: reading the weights and each row's cached keys and
 *       values once, at the GPU's bandwidth;</li>
 *   <li>a realistic mix ({@link #mix}): requests with random prompts and answer lengths drawn
 *       from a distribution (seeded), through {@link ContinuousBatcher} with continuous and with
 *       static admission on the same requests: useful tokens/s, the answers' tokens only (no
 *       padding, nothing for idle slots), prefills included.</li>
 * </ul>
 */
public final class DecodeBench {
    /** One fixed-shape configuration. */
    public record Result(int batch, int promptLen, int newTokens, double prefillSeconds, double stepSeconds,
                         long weightBytes, long kvBytes, double bandwidth, long peakBytes) {
        public double tokensPerSecond() {
            return batch / stepSeconds;
        }

        /** Seconds to read the weights and the mean step's keys and values at {@code bandwidth} bytes/s. */
        public double floorSeconds() {
            return (weightBytes + kvBytes) / bandwidth;
        }

        public String format() {
            return String.format("batch %d, prompt %d, %d new tokens: prefill %.1f ms, decode %.2f ms per step, "
                            + "%,.0f tokens/s; memory floor %.2f ms (weights %.1f GB + KV %.2f GB at %.0f GB/s), "
                            + "step/floor %.2f; GPU memory %s", batch, promptLen, newTokens, prefillSeconds * 1e3,
                    stepSeconds * 1e3, tokensPerSecond(), floorSeconds() * 1e3, weightBytes / 1e9, kvBytes / 1e9,
                    bandwidth / 1e9, stepSeconds / floorSeconds(), GpuMemory.format(peakBytes));
        }
    }

    /** Answer lengths of the realistic mix. */
    public enum Answers {
        /** Uniform in [min, max]. */
        UNIFORM,
        /** Log-normal with min and max at its 2.5% and 97.5% quantiles, clamped to them. */
        LOGNORMAL
    }

    /** One run of the mix: useful tokens (the answers'), wall seconds, the batcher's counts. */
    public record MixResult(String admission, int requests, long usefulTokens, double seconds,
                            ContinuousBatcher.Stats stats, long peakBytes) {
        public double tokensPerSecond() {
            return usefulTokens / seconds;
        }

        public String format() {
            return String.format("%s, %d slots: %,d requests, %,d useful tokens in %.1f s: %,.0f tokens/s (%,.0f "
                            + "until the last request was admitted, %.1f s); %,d decode steps (%.2f ms per step with "
                            + "the prefills), %.0f%% of slot-steps running, %,d prefill calls (%.1f s), %d CUDA "
                            + "graphs (%.1f s capturing); GPU memory %s", admission, stats.slots(), requests,
                    usefulTokens, seconds, tokensPerSecond(), stats.queuedTokensPerSecond(),
                    stats.secondsWhileQueued(), stats.steps(), seconds * 1e3 / Math.max(1, stats.steps()),
                    100 * stats.occupancy(), stats.prefills(), stats.prefillSeconds(), stats.graphs(),
                    stats.captureSeconds(), GpuMemory.format(peakBytes));
        }
    }

    private final TargetModel model;
    private final double bandwidth;

    /** @param bandwidth the GPU's memory bandwidth in bytes/s, for the floor */
    public DecodeBench(TargetModel model, double bandwidth) {
        this.model = model;
        this.bandwidth = bandwidth;
    }

    /** @param newTokens at least 3: the steps after the second token are what is timed */
    public Result run(int batch, int promptLen, int newTokens, int warmup, int iterations, long seed) {
        if (newTokens < 3 || iterations < 1) {
            throw new IllegalArgumentException("the decode bench needs at least 3 new tokens and 1 iteration");
        }
        Generator generator = new Generator(model, Set.of());
        Random random = new Random(seed);
        double[] prefill = new double[iterations];
        double[] step = new double[iterations];
        long peak = -1;
        for (int it = -warmup; it < iterations; it++) {
            List<long[]> prompts = prompts(random, batch, promptLen);
            double first = seconds(generator, prompts, 1);
            double second = seconds(generator, prompts, 2);
            double all = seconds(generator, prompts, newTokens);
            if (it >= 0) {
                prefill[it] = first;
                step[it] = (all - second) / (newTokens - 2);
            }
            peak = Math.max(peak, GpuMemory.inUse(model.device()));
        }
        // the mean timed step feeds position promptLen + (newTokens - 1) / 2 and reads every position up to it
        double meanPositions = promptLen + (newTokens - 1) / 2.0 + 1;
        long kv = (long) (batch * meanPositions * SlotCache.bytesPerSlot(model.config(), model.dtype(), 1));
        return new Result(batch, promptLen, newTokens, FeaturesBench.median(prefill), FeaturesBench.median(step),
                weightBytes(model.config(), model.dtype().getNumOfBytes()), kv, bandwidth, peak);
    }

    /**
     * {@code requests} random prompts of {@code promptLen} tokens whose answers take lengths from
     * {@code answers} in [min, max] (seeded), through {@code slots} slots with continuous and
     * then static admission: the same requests both times. A smaller mix runs first, untimed
     * (the scripts' first calls at new shapes are profiled and compiled).
     */
    public List<MixResult> mix(int slots, int requests, int promptLen, Answers answers, int min, int max, long seed) {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("answer lengths need 1 <= min <= max, got " + min + "-" + max);
        }
        List<Generator.Request> work = mixRequests(new Random(seed), requests, promptLen, answers, min, max);
        long positions = promptLen + max - 1L;
        run(slots, positions, ContinuousBatcher.Admission.CONTINUOUS,
                mixRequests(new Random(seed + 1), Math.min(requests, 2 * slots), promptLen, answers, min,
                        Math.min(max, 2 * min)));
        List<MixResult> out = new ArrayList<>();
        long useful = work.stream().mapToLong(Generator.Request::maxNewTokens).sum();
        for (ContinuousBatcher.Admission admission : ContinuousBatcher.Admission.values()) {
            long start = System.nanoTime();
            ContinuousBatcher.Stats stats = run(slots, positions, admission, work);
            out.add(new MixResult(admission.name().toLowerCase(java.util.Locale.ROOT), requests, useful,
                    (System.nanoTime() - start) / 1e9, stats, GpuMemory.inUse(model.device())));
        }
        return out;
    }

    private ContinuousBatcher.Stats run(int slots, long positions, ContinuousBatcher.Admission admission,
                                        List<Generator.Request> requests) {
        Iterator<Generator.Request> next = requests.iterator();
        return new ContinuousBatcher(model, Set.of(), slots, positions, admission).run(
                new ContinuousBatcher.Work<Generator.Request>() {
                    @Override
                    public ContinuousBatcher.Job<Generator.Request> next() {
                        return next.hasNext() ? new ContinuousBatcher.Job<>(null, next.next()) : null;
                    }

                    @Override
                    public void done(Generator.Request tag, Generator.Result result) {
                        // every row runs to its limit: no stop tokens
                    }
                });
    }

    private List<Generator.Request> mixRequests(Random random, int n, int promptLen, Answers answers, int min,
                                                int max) {
        List<Generator.Request> out = new ArrayList<>();
        double mu = (Math.log(min) + Math.log(max)) / 2;
        double sigma = (Math.log(max) - Math.log(min)) / (2 * 1.959964);
        for (long[] prompt : prompts(random, n, promptLen)) {
            int len = switch (answers) {
                case UNIFORM -> min + random.nextInt(max - min + 1);
                case LOGNORMAL -> (int) Math.round(Math.min(max, Math.max(min,
                        Math.exp(mu + sigma * random.nextGaussian()))));
            };
            out.add(Generator.Request.greedy(prompt, len));
        }
        return out;
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
