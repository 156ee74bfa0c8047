package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Autoregressive generation with a KV cache for a batch of prompts of different lengths.
 * Prompts are right-padded in the cache; generated tokens follow at slot T_prompt + step with
 * rope position len + step, and each row masks its own padding, so a row's result does not
 * depend on what else is in the batch. Every request carries its own seed for sampling.
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

    public List<Result> generate(List<Request> batch) {
        int b = batch.size();
        long[] lengths = new long[b];
        int promptSlots = 0;
        int maxSteps = 0;
        for (int r = 0; r < b; r++) {
            lengths[r] = batch.get(r).prompt().length;
            if (lengths[r] == 0) {
                throw new IllegalArgumentException("request " + r + " has an empty prompt");
            }
            promptSlots = Math.max(promptSlots, (int) lengths[r]);
            maxSteps = Math.max(maxSteps, batch.get(r).maxNewTokens());
        }
        List<List<Long>> out = new ArrayList<>();
        SplittableRandom[] rngs = new SplittableRandom[b];
        boolean[] done = new boolean[b];
        boolean[] stopped = new boolean[b];
        for (int r = 0; r < b; r++) {
            out.add(new ArrayList<>());
            rngs[r] = new SplittableRandom(batch.get(r).seed());
            done[r] = batch.get(r).maxNewTokens() == 0;
        }
        try (NDManager scope = model.weightsManager().newSubManager();
             KvCache cache = new KvCache(model.device(), model.config().numLayers())) {
            long[] next;
            try (NDManager step = scope.newSubManager()) {
                NDArray ids = step.create(padded(batch, promptSlots), new Shape(b, promptSlots));
                NDList cs = model.rope().table(step, 0, promptSlots, model.dtype(), true);
                NDArray bias = Attention.causalBias(step, lengths, promptSlots, model.dtype());
                NDArray h = model.run(step, ids, cs, bias, cache, ForwardRequest.lastHiddenOnly()).lastHidden();
                NDList lastRows = new NDList();
                for (int r = 0; r < b; r++) {
                    lastRows.add(h.get(r, lengths[r] - 1));
                }
                next = pick(model.logitsOf(NDArrays.stack(lastRows)), batch, rngs);
            }
            for (int s = 0; ; s++) {
                for (int r = 0; r < b; r++) {
                    if (!done[r]) {
                        out.get(r).add(next[r]);
                        stopped[r] = stopIds.contains(next[r]);
                        done[r] = stopped[r] || out.get(r).size() >= batch.get(r).maxNewTokens();
                    }
                }
                if (allDone(done) || s + 1 >= maxSteps) {
                    break;
                }
                try (NDManager step = scope.newSubManager()) {
                    long[] positions = new long[b];
                    for (int r = 0; r < b; r++) {
                        positions[r] = lengths[r] + s;
                    }
                    NDArray ids = step.create(next, new Shape(b, 1));
                    NDList cs = model.rope().tableAt(step, positions, model.dtype(), true);
                    NDArray bias = decodeBias(step, lengths, promptSlots, promptSlots + s + 1, model.dtype());
                    NDArray h = model.run(step, ids, cs, bias, cache, ForwardRequest.lastHiddenOnly()).lastHidden();
                    next = pick(model.logitsOf(h.squeeze(1)), batch, rngs);
                }
            }
        }
        List<Result> results = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            results.add(new Result(out.get(r).stream().mapToLong(Long::longValue).toArray(), stopped[r]));
        }
        return results;
    }

    private static long[] padded(List<Request> batch, int slots) {
        long[] ids = new long[batch.size() * slots];
        for (int r = 0; r < batch.size(); r++) {
            long[] p = batch.get(r).prompt();
            System.arraycopy(p, 0, ids, r * slots, p.length);
        }
        return ids;
    }

    /** [B, 1, 1, 1, S]: a row sees its prompt (not its padding) and every generated slot. */
    private static NDArray decodeBias(NDManager m, long[] lengths, int promptSlots, int slots, DataType dtype) {
        float[] bias = new float[lengths.length * slots];
        for (int r = 0; r < lengths.length; r++) {
            for (int s = 0; s < slots; s++) {
                boolean visible = s < lengths[r] || s >= promptSlots;
                bias[r * slots + s] = visible ? 0f : Attention.masked(dtype);
            }
        }
        NDArray b = m.create(bias, new Shape(lengths.length, 1, 1, 1, slots));
        return dtype == DataType.FLOAT32 ? b : b.toType(dtype, false);
    }

    private static long[] pick(NDArray logits, List<Request> batch, SplittableRandom[] rngs) {
        int b = batch.size();
        long[] next = new long[b];
        if (batch.stream().allMatch(r -> r.sampling().greedy())) {
            // argmax on the device: only B ids cross to the host.
            long[] ids = logits.argMax(-1).toType(DataType.INT64, false).toLongArray();
            return Arrays.copyOf(ids, b);
        }
        float[] rows = logits.toFloatArray(); // one read off the device for the whole batch
        int v = rows.length / b;
        for (int r = 0; r < b; r++) {
            next[r] = batch.get(r).sampling().pick(Arrays.copyOfRange(rows, r * v, (r + 1) * v), rngs[r]);
        }
        return next;
    }

    private static boolean allDone(boolean[] done) {
        for (boolean d : done) {
            if (!d) {
                return false;
            }
        }
        return true;
    }
}
