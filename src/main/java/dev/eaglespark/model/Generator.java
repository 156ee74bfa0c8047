package dev.eaglespark.model;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Autoregressive generation for a list of prompts of different lengths, all decoded together
 * through {@link ContinuousBatcher} (one slot each): a prefill call, then one call per decode
 * step, the next token picked on the device. A row's result does not depend on what else is
 * in the batch; every request carries its own seed for sampling.
 */
public final class Generator {
    /** One prompt to continue. */
    public record Request(long[] prompt, int maxNewTokens, Sampling sampling, long seed) {
        public static Request greedy(long[] prompt, int maxNewTokens) {
            return new Request(prompt, maxNewTokens, Sampling.GREEDY, 0);
        }
    }

    /** The new tokens (the stop token included when one ended the row). */
    public record Result(long[] tokens, boolean stopped) {}

    private final TargetModel model;
    private final Set<Long> stopIds;

    public Generator(TargetModel model, Set<Long> stopIds) {
        this.model = model;
        this.stopIds = Set.copyOf(stopIds);
    }

    /** The results in request order. */
    public List<Result> generate(List<Request> batch) {
        Result[] results = new Result[batch.size()];
        if (batch.isEmpty()) {
            return List.of();
        }
        long positions = batch.stream().mapToLong(r -> r.prompt().length + Math.max(0, r.maxNewTokens() - 1L))
                .max().orElseThrow();
        Iterator<Integer> next = IntStream.range(0, batch.size()).iterator();
        new ContinuousBatcher(model, stopIds, batch.size(), positions, ContinuousBatcher.Admission.CONTINUOUS)
                .run(new ContinuousBatcher.Work<Integer>() {
                    @Override
                    public ContinuousBatcher.Job<Integer> next() {
                        if (!next.hasNext()) {
                            return null;
                        }
                        int i = next.next();
                        return new ContinuousBatcher.Job<>(i, batch.get(i));
                    }

                    @Override
                    public void done(Integer tag, Result result) {
                        results[tag] = result;
                    }
                });
        return Arrays.asList(results);
    }
}
