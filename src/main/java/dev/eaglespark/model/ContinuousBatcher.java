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
 *
 * <p>A freed slot keeps what it cached (the prompt and the tokens fed after it). A request with the
 * tag of the row that last ended in a free slot (in {@code regenerate}, a conversation's next
 * turn, whose prompt is the previous prompt, the answer and the new user turn) keeps the positions
 * that its prompt shares with them ({@link SlotPrefixes}): only the rest is computed ({@link
 * DecodeScript#extend}). Work that asks for a request's continuation right after it ends (as
 * {@code regenerate} does) gets it every time, so a request's tokens still depend on its own
 * history only. On by default on the CPU only ({@link #reuses}).
 */
public final class ContinuousBatcher {
    /** Most prompt tokens (padding included) prefilled in one call. */
    public static final int PREFILL_TOKENS = 8192;
    /**
     * Most new tokens (padding included) of rows extended in one call: each query's bias row covers
     * the attended positions.
     */
    static final int EXTEND_TOKENS = 2048;
    /**
     * Most positions (rows x attended positions) an extension call gathers from the slots: the
     * gathered keys and values of a layer (at 8B shapes 2 x 134 MB) stay below a whole prefill's
     * activations, which the slots' sizing leaves room for.
     */
    static final long EXTEND_POSITIONS = 65_536;

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
     * What a run did: generated tokens (every row's, the stop tokens included), the answers that
     * ended at a stop token (the rest ran to their token limit: cut short), prompt tokens
     * prefilled and the positions their calls computed (padding included), prompt positions kept
     * from a slot's previous row instead (prefix reuse; not counted as prefilled), decode steps and the
     * rows they ran (occupancy = rowSteps / (steps x slots)) and computed (free slots below the
     * last running row, and on a GPU up to the step's bucket, compute too), prefill calls, CUDA
     * graphs captured (0: the steps ran through the interpreter), wall seconds,
     * and of them the seconds in prefill calls and in graph captures (their warm-up steps
     * included; each call returns ids to the host, so host time is GPU time here); and the tokens
     * generated and seconds until the work first had no request left (while every freed slot was
     * refilled at once: the steady state of a long run, without the last rows' drain).
     */
    public record Stats(int slots, long generated, long stopped, long prefilled, long prefillPositions, long reused,
                        long steps, long rowSteps, long computedRows, long prefills, long graphs, double seconds,
                        double prefillSeconds, double captureSeconds, long generatedWhileQueued,
                        double secondsWhileQueued) {
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
            return String.format("%,d tokens generated in %.2f s (%,.1f tokens/s; %,d answers ended at a stop token), "
                            + "%,d prompt tokens prefilled in %,d "
                            + "calls (%,d positions with padding, %.2f s; %,d more kept from the slot's previous row), "
                            + "%,d decode steps (%,d rows computed; %d CUDA graphs, %.2f s capturing), %d slots %.0f%% "
                            + "occupied", generated, seconds, tokensPerSecond(), stopped, prefilled, prefills,
                    prefillPositions, prefillSeconds, reused, steps, computedRows, graphs, captureSeconds, slots,
                    100 * occupancy());
        }
    }

    /** What a run counts as it goes, for its {@link Stats}. */
    private static final class Tally {
        final long start;
        long generated;
        long stopped;
        long prefilled;
        long prefillPositions;
        long reused;
        long steps;
        long rowSteps;
        long computedRows;
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
            return new Stats(slots, generated, stopped, prefilled, prefillPositions, reused, steps, rowSteps,
                    computedRows, prefills, graphs,
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
        final int start; // prompt positions its slot held already
        long length; // cached positions
        boolean stopped;

        Row(Job<T> job, int start) {
            this.tag = job.tag();
            this.request = job.request();
            this.random = new SplittableRandom(request.seed());
            this.start = start;
            this.length = request.prompt().length;
        }

        /** The prompt's tokens still to compute. */
        int fresh() {
            return request.prompt().length - start;
        }

        /** The tokens whose keys and values the slot holds: the prompt and every token fed after it. */
        long[] cached() {
            long[] out = Arrays.copyOf(request.prompt(), (int) length);
            System.arraycopy(tokens, 0, out, request.prompt().length, (int) length - request.prompt().length);
            return out;
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
    private final boolean reuse;

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
        this.reuse = reuses(model);
    }

    /**
     * Whether next turns keep their slot's prefix on {@code model}'s device: {@code
     * -Deaglespark.prefix-reuse=true|false}, by default on the CPU only. On a GPU its checks pass,
     * but at 8B shapes it was no faster end to end (docs/BENCHMARKS.md).
     */
    static boolean reuses(TargetModel model) {
        String set = System.getProperty("eaglespark.prefix-reuse");
        return set == null ? !model.device().isGpu() : Boolean.parseBoolean(set);
    }

    /** Runs until {@code work} has nothing more and every row has ended. */
    public <T> Stats run(Work<T> work) {
        long start = System.nanoTime();
        DecodeScript script = model.decodeScript();
        @SuppressWarnings("unchecked")
        Row<T>[] rows = new Row[slots];
        SlotPrefixes held = new SlotPrefixes(slots, reuse);
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
                    while (admit(work, rows, held, cache, script, tally)) {
                        // rows that ended at their first token may have made more work
                    }
                }
                int running = running(rows);
                if (running == 0) {
                    break;
                }
                step(work, rows, held, cache, script, graphs, tally);
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
     * Fills free slots from {@code work} (where {@link SlotPrefixes#place} says, moving kept
     * prefixes first) and prefills them; true when a row ended at its first token, freeing a slot
     * again.
     */
    private <T> boolean admit(Work<T> work, Row<T>[] rows, SlotPrefixes held, SlotCache cache, DecodeScript script,
                              Tally tally) {
        java.util.TreeSet<Integer> free = new java.util.TreeSet<>();
        for (int slot = 0; slot < slots; slot++) {
            if (rows[slot] == null) {
                free.add(slot);
            }
        }
        List<Job<T>> jobs = new ArrayList<>();
        while (jobs.size() < free.size()) {
            Job<T> job = work.next();
            if (job == null) {
                tally.ranDry();
                break;
            }
            check(job.request());
            if (job.request().maxNewTokens() == 0) {
                work.done(job.tag(), new Generator.Result(new long[0], false));
                continue;
            }
            jobs.add(job);
        }
        SlotPrefixes.Plan plan = held.place(jobs, free);
        if (plan.sources().length > 0) {
            script.moveRows(plan.sources(), plan.targets(), plan.moved(), cache);
        }
        List<Integer> admitted = new ArrayList<>();
        for (int j = 0; j < jobs.size(); j++) {
            rows[plan.slots()[j]] = new Row<>(jobs.get(j), plan.kept()[j]);
            tally.reused += plan.kept()[j];
            admitted.add(plan.slots()[j]);
        }
        boolean freed = false;
        // fewest new tokens first, so that a call's rows pad to about the same length
        admitted.sort(java.util.Comparator.comparingInt((Integer s) -> rows[s].fresh()).thenComparingInt(s -> s));
        List<Integer> whole = admitted.stream().filter(s -> rows[s].start == 0).toList();
        List<Integer> extended = admitted.stream().filter(s -> rows[s].start > 0).toList();
        for (List<Integer> group : groups(whole, rows, PREFILL_TOKENS, Long.MAX_VALUE, positions)) {
            freed |= prefill(work, rows, held, group, cache, script, tally);
        }
        for (List<Integer> group : groups(extended, rows, EXTEND_TOKENS, EXTEND_POSITIONS, positions)) {
            freed |= prefill(work, rows, held, group, cache, script, tally);
        }
        return freed && admission == Admission.CONTINUOUS;
    }

    /**
     * One call computing the prompts of {@code group}'s rows past what their slots hold (all of a
     * new row's, in a prefill; the rest of a continuing row's, in an extension); true when a row
     * ended at its first token.
     */
    private <T> boolean prefill(Work<T> work, Row<T>[] rows, SlotPrefixes held, List<Integer> group, SlotCache cache,
                                DecodeScript script, Tally tally) {
        int t = group.stream().mapToInt(s -> rows[s].fresh()).max().orElseThrow();
        int k = group.size();
        long[] ids = new long[k * t];
        long[] lengths = new long[k];
        long[] starts = new long[k];
        long[] where = new long[k];
        long end = 0;
        List<Row<T>> members = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            Row<T> row = rows[group.get(i)];
            members.add(row);
            System.arraycopy(row.request.prompt(), row.start, ids, i * t, row.fresh());
            lengths[i] = row.fresh();
            starts[i] = row.start;
            where[i] = group.get(i);
            end = Math.max(end, row.start + t);
            tally.prefilled += row.fresh();
        }
        tally.prefillPositions += (long) k * t;
        cache.ensure(end);
        long called = System.nanoTime();
        long[] first = members.get(0).start == 0
                ? script.prefill(ids, t, lengths, where, sampling(members), nucleus(members), cache)
                : script.extend(ids, t, lengths, starts, where, DecodeScript.attended(end, cache), sampling(members),
                        nucleus(members), cache);
        tally.prefillNanos += System.nanoTime() - called;
        tally.prefills++;
        tally.generated += k;
        boolean freed = false;
        for (int i = 0; i < k; i++) {
            if (members.get(i).add(first[i], stops)) {
                finish(work, rows, held, group.get(i), tally);
                freed = true;
            }
        }
        return freed;
    }

    /**
     * The admitted slots (by new tokens) in calls of at most {@code budget} new tokens (padding
     * included; one row at least) and {@code attended} rows x positions attended, none writing past
     * {@code limit} positions (a row's padding lands after its start).
     */
    private static <T> List<List<Integer>> groups(List<Integer> admitted, Row<T>[] rows, int budget, long attended,
                                                  long limit) {
        List<List<Integer>> groups = new ArrayList<>();
        List<Integer> group = new ArrayList<>();
        int longest = 0;
        int latest = 0; // the group's largest start
        for (int slot : admitted) {
            Row<T> row = rows[slot];
            int len = row.fresh();
            int t = Math.max(longest, len);
            long end = Math.max(latest, row.start) + t;
            if (!group.isEmpty() && ((group.size() + 1L) * t > budget || end > limit
                    || (group.size() + 1L) * DecodeScript.attendedPositions(end) > attended)) {
                groups.add(group);
                group = new ArrayList<>();
                longest = 0;
                latest = 0;
            }
            group.add(slot);
            longest = Math.max(longest, len);
            latest = Math.max(latest, row.start);
        }
        if (!group.isEmpty()) {
            groups.add(group);
        }
        return groups;
    }

    /**
     * One decode step of the slots up to the last running one (free slots among them compute and
     * are ignored; on a GPU up to {@link DecodeGraphs#rows}'s bucket), as a CUDA graph's replay
     * where there are {@code graphs}. A free slot writes where {@link SlotPrefixes#stepPosition} says.
     */
    private <T> void step(Work<T> work, Row<T>[] rows, SlotPrefixes held, SlotCache cache, DecodeScript script,
                          DecodeGraphs graphs, Tally tally) {
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
        tally.computedRows += b;
        long[] ids = new long[b];
        long[] pos = new long[b];
        List<Row<T>> members = new ArrayList<>();
        for (int s = 0; s < b; s++) {
            Row<T> row = rows[s];
            members.add(row);
            if (row != null) {
                ids[s] = row.last();
                pos[s] = row.length;
            } else {
                pos[s] = held.stepPosition(s);
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
                    finish(work, rows, held, s, tally);
                }
            }
        }
    }

    /** Frees {@code slot}, which keeps what its row cached. */
    private static <T> void finish(Work<T> work, Row<T>[] rows, SlotPrefixes held, int slot, Tally tally) {
        Row<T> row = rows[slot];
        rows[slot] = null;
        if (row.stopped) {
            tally.stopped++;
        }
        held.freed(slot, row.tag, row::cached);
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
