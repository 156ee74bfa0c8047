package dev.eaglespark.model;

import dev.eaglespark.runtime.CudaStreams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Generation with continuous batching over a fixed number of slots of a {@link SlotCache}: each
 * row that ends (a stop token or its token limit) frees its slot at once, and the next request
 * takes it (in {@code regenerate}, the next turn of a conversation or the next conversation).
 * Each round prefills the newly admitted rows, whole prompts batched into one call per group
 * (a prompt's prefill is compute-bound from a few hundred tokens on, so it gains little from
 * being cut into chunks, and whole prefills keep each row's numbers independent of the others'),
 * then runs one decode step of every running row, one call ({@link DecodeScript}); a row has
 * its own position and length (rotary position, attention bias, where its key and value land).
 * A row's tokens depend only on its request: its prompt, limit, sampling and seed (its uniform
 * draws come from its own stream, {@link DeviceSampling}); not on the slot it lands in or the rows
 * beside it, up to the summation order of batched float arithmetic. {@link Admission#STATIC}
 * admits only into an empty batch (every row waits for the longest), for comparison.
 */
public final class ContinuousBatcher {
    /** Most prompt tokens (padding included) prefilled in one call. */
    public static final int PREFILL_TOKENS = 8192;

    /** When free slots take new rows. */
    public enum Admission {
        /** As soon as a slot is free. */
        CONTINUOUS,
        /** Only when every slot is free: static batches, as a baseline. */
        STATIC
    }

    /** A request and what the caller knows it by. */
    public record Job<T>(T tag, Generator.Request request) {}

    /** Where requests come from and results go; called on the batcher's thread. */
    public interface Work<T> {
        /** The next request to start, or null when none is ready now (a completion may make more). */
        Job<T> next();

        /** {@code tag}'s request ended with {@code result}. */
        void done(T tag, Generator.Result result);
    }

    /**
     * What a run did: generated tokens (every row's, the stop tokens included), prompt tokens
     * prefilled and the positions their calls computed (padding included), decode steps and the
     * rows they ran (occupancy = rowSteps / (steps x slots)), prefill calls, CUDA graphs captured
     * (0: the steps ran through the interpreter), wall seconds,
     * and of them the seconds in prefill calls and in graph captures (their warm-up steps
     * included; each call returns ids to the host, so host time is GPU time here); and the tokens
     * generated and seconds until the work first had no request left (while every freed slot was
     * refilled at once: the steady state of a long run, without the last rows' drain).
     */
    public record Stats(int slots, long generated, long prefilled, long prefillPositions, long steps, long rowSteps,
                        long prefills, long graphs, double seconds, double prefillSeconds, double captureSeconds,
                        long generatedWhileQueued, double secondsWhileQueued) {
        public double tokensPerSecond() {
            return generated / seconds;
        }

        /** Tokens/s until the work ran out of requests. */
        public double queuedTokensPerSecond() {
            return secondsWhileQueued == 0 ? 0 : generatedWhileQueued / secondsWhileQueued;
        }

        public double occupancy() {
            return steps == 0 ? 0 : rowSteps / (double) (steps * slots);
        }

        public String format() {
            return String.format("%,d tokens generated in %.2f s (%,.1f tokens/s), %,d prompt tokens prefilled in %,d "
                            + "calls (%,d positions with padding, %.2f s), %,d decode steps (%d CUDA graphs, %.2f s "
                            + "capturing), %d slots %.0f%% occupied", generated, seconds, tokensPerSecond(), prefilled,
                    prefills, prefillPositions, prefillSeconds, steps, graphs, captureSeconds, slots, 100 * occupancy());
        }
    }

    /** What a run counts as it goes, for its {@link Stats}. */
    private static final class Tally {
        final long start;
        long generated;
        long prefilled;
        long prefillPositions;
        long steps;
        long rowSteps;
        long prefills;
        long prefillNanos;
        long dryAt = -1; // when the work first had no request left
        long generatedWhenDry;

        Tally(long start) {
            this.start = start;
        }

        void ranDry() {
            if (dryAt < 0) {
                dryAt = System.nanoTime();
                generatedWhenDry = generated;
            }
        }

        Stats stats(int slots, long graphs, long captureNanos) {
            long end = System.nanoTime();
            boolean dry = dryAt >= 0;
            return new Stats(slots, generated, prefilled, prefillPositions, steps, rowSteps, prefills, graphs,
                    (end - start) / 1e9, prefillNanos / 1e9, captureNanos / 1e9,
                    dry ? generatedWhenDry : generated, ((dry ? dryAt : end) - start) / 1e9);
        }
    }

    /** One running request in its slot. */
    private static final class Row<T> {
        final T tag;
        final Generator.Request request;
        final SplittableRandom random;
        long[] tokens = new long[16];
        int count;
        long length; // cached positions
        boolean stopped;

        Row(Job<T> job) {
            this.tag = job.tag();
            this.request = job.request();
            this.random = new SplittableRandom(request.seed());
            this.length = request.prompt().length;
        }

        long last() {
            return tokens[count - 1];
        }

        /** Appends a token; true when the row has ended. */
        boolean add(long token, Set<Long> stops) {
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, 2 * count);
            }
            tokens[count++] = token;
            stopped = stops.contains(token);
            return stopped || count >= request.maxNewTokens();
        }

        Generator.Result result() {
            return new Generator.Result(Arrays.copyOf(tokens, count), stopped);
        }
    }

    private final TargetModel model;
    private final Set<Long> stops;
    private final int slots;
    private final long positions;
    private final Admission admission;

    /**
     * @param slots rows decoded together
     * @param positions the most positions a row may take (prompt and new tokens but the last)
     */
    public ContinuousBatcher(TargetModel model, Set<Long> stops, int slots, long positions, Admission admission) {
        if (slots < 1) {
            throw new IllegalArgumentException("at least one slot, got " + slots);
        }
        this.model = model;
        this.stops = Set.copyOf(stops);
        this.slots = slots;
        this.positions = positions;
        this.admission = admission;
    }

    /** Runs until {@code work} has nothing more and every row has ended. */
    public <T> Stats run(Work<T> work) {
        long start = System.nanoTime();
        DecodeScript script = model.decodeScript();
        @SuppressWarnings("unchecked")
        Row<T>[] rows = new Row[slots];
        Tally tally = new Tally(start);
        boolean graphed = DecodeGraphs.usable(model);
        if (graphed) { // before any of the run's work: a graph is captured on a stream other than the default
            CudaStreams.computeOnOwnStream(model.embedWeight());
        }
        long captured = 0;
        long captureNanos = 0;
        try (SlotCache cache = new SlotCache(model.device(), model.config(), model.dtype(), slots, positions);
             DecodeGraphs graphs = graphed ? new DecodeGraphs(model, script, cache) : null) {
            while (true) {
                if (admission == Admission.CONTINUOUS || running(rows) == 0) {
                    while (admit(work, rows, cache, script, tally)) {
                        // rows that ended at their first token may have made more work
                    }
                }
                int running = running(rows);
                if (running == 0) {
                    break;
                }
                step(work, rows, cache, script, graphs);
                tally.generated += running;
                tally.steps++;
                tally.rowSteps += running;
            }
            captured = graphs == null ? 0 : graphs.captures();
            captureNanos = graphs == null ? 0 : graphs.captureNanos();
        }
        return tally.stats(slots, captured, captureNanos);
    }

    /**
     * Fills free slots (lowest first) from {@code work} and prefills them; true when a row ended
     * at its first token, freeing a slot again.
     */
    private <T> boolean admit(Work<T> work, Row<T>[] rows, SlotCache cache, DecodeScript script, Tally tally) {
        List<Integer> admitted = new ArrayList<>();
        for (int slot = 0; slot < slots; slot++) {
            if (rows[slot] != null) {
                continue;
            }
            Job<T> job = work.next();
            if (job == null) {
                tally.ranDry();
                break;
            }
            check(job.request());
            if (job.request().maxNewTokens() == 0) {
                work.done(job.tag(), new Generator.Result(new long[0], false));
                slot--; // the slot is still free
                continue;
            }
            rows[slot] = new Row<>(job);
            admitted.add(slot);
        }
        boolean freed = false;
        // shortest prompts first, so that a call's rows pad to about the same length
        admitted.sort(java.util.Comparator.comparingInt((Integer s) -> rows[s].request.prompt().length)
                .thenComparingInt(s -> s));
        for (List<Integer> group : groups(admitted, rows)) {
            int t = group.stream().mapToInt(s -> rows[s].request.prompt().length).max().orElseThrow();
            int k = group.size();
            long[] ids = new long[k * t];
            long[] lengths = new long[k];
            long[] where = new long[k];
            List<Row<T>> members = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                Row<T> row = rows[group.get(i)];
                members.add(row);
                System.arraycopy(row.request.prompt(), 0, ids, i * t, row.request.prompt().length);
                lengths[i] = row.length;
                where[i] = group.get(i);
                tally.prefilled += row.length;
            }
            tally.prefillPositions += (long) k * t;
            cache.ensure(t);
            long called = System.nanoTime();
            long[] first = script.prefill(ids, t, lengths, where, sampling(members), nucleus(members), cache);
            tally.prefillNanos += System.nanoTime() - called;
            tally.prefills++;
            tally.generated += k;
            for (int i = 0; i < k; i++) {
                if (members.get(i).add(first[i], stops)) {
                    finish(work, rows, group.get(i));
                    freed = true;
                }
            }
        }
        return freed && admission == Admission.CONTINUOUS;
    }

    /**
     * The admitted slots (by prompt length) in prefill calls of at most {@link #PREFILL_TOKENS}
     * (padding included; one row at least).
     */
    private static <T> List<List<Integer>> groups(List<Integer> admitted, Row<T>[] rows) {
        List<List<Integer>> groups = new ArrayList<>();
        List<Integer> group = new ArrayList<>();
        int longest = 0;
        for (int slot : admitted) {
            int len = rows[slot].request.prompt().length;
            if (!group.isEmpty() && (group.size() + 1L) * Math.max(longest, len) > PREFILL_TOKENS) {
                groups.add(group);
                group = new ArrayList<>();
                longest = 0;
            }
            group.add(slot);
            longest = Math.max(longest, len);
        }
        if (!group.isEmpty()) {
            groups.add(group);
        }
        return groups;
    }

    /**
     * One decode step of the slots up to the last running one (free slots among them compute and
     * are ignored; on a GPU up to {@link DecodeGraphs#rows}'s bucket), as a CUDA graph's replay
     * where there are {@code graphs}.
     */
    private <T> void step(Work<T> work, Row<T>[] rows, SlotCache cache, DecodeScript script, DecodeGraphs graphs) {
        int b = 0;
        long longest = 0;
        for (int s = 0; s < slots; s++) {
            if (rows[s] != null) {
                b = s + 1;
                longest = Math.max(longest, rows[s].length + 1);
            }
        }
        if (model.device().isGpu()) { // the graphs' row buckets for the interpreter too: the same kernels either way
            b = DecodeGraphs.rows(b, slots);
        }
        long[] ids = new long[b];
        long[] pos = new long[b];
        List<Row<T>> members = new ArrayList<>();
        for (int s = 0; s < b; s++) {
            Row<T> row = rows[s];
            members.add(row);
            if (row != null) {
                ids[s] = row.last();
                pos[s] = row.length;
            }
        }
        cache.ensure(longest);
        int end = DecodeScript.attended(longest, cache);
        long[] next = graphs != null ? graphs.step(ids, pos, end, sampling(members), nucleus(members))
                : script.step(ids, pos, end, sampling(members), nucleus(members), cache);
        for (int s = 0; s < b; s++) {
            Row<T> row = rows[s];
            if (row != null) {
                row.length++;
                if (row.add(next[s], stops)) {
                    finish(work, rows, s);
                }
            }
        }
    }

    private static <T> void finish(Work<T> work, Row<T>[] rows, int slot) {
        Row<T> row = rows[slot];
        rows[slot] = null;
        work.done(row.tag, row.result());
    }

    /** Per-row sampling inputs of the rows (null ones are free slots), or null when none samples. */
    private static <T> float[] sampling(List<Row<T>> rows) {
        if (rows.stream().allMatch(r -> r == null || r.request.sampling().greedy())) {
            return null;
        }
        float[] out = new float[rows.size() * DeviceSampling.COLUMNS];
        for (int r = 0; r < rows.size(); r++) {
            Row<T> row = rows.get(r);
            DeviceSampling.row(out, r, row == null ? Sampling.GREEDY : row.request.sampling(),
                    row == null ? null : row.random);
        }
        return out;
    }

    private static <T> boolean nucleus(List<Row<T>> rows) {
        return rows.stream().anyMatch(r -> r != null && !r.request.sampling().greedy() && r.request.sampling().topP() < 1);
    }

    private static <T> int running(Row<T>[] rows) {
        int n = 0;
        for (Row<T> r : rows) {
            if (r != null) {
                n++;
            }
        }
        return n;
    }

    private void check(Generator.Request r) {
        long[] p = r.prompt();
        if (p.length == 0) {
            throw new IllegalArgumentException("a request has an empty prompt");
        }
        if (p.length + Math.max(0, r.maxNewTokens() - 1) > positions) {
            throw new IllegalArgumentException("a request of " + p.length + " prompt tokens and up to "
                    + r.maxNewTokens() + " new ones needs more than the " + positions + " positions of a slot");
        }
        int vocab = model.config().vocabSize();
        for (long id : p) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocab + ")");
            }
        }
    }
}
