package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.gpu.GpuCheck;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Decode steps replayed as CUDA graphs ({@link DecodeGraphs}) against the same steps through the
 * TorchScript interpreter, on a GPU in fp16: a mix of requests through continuous batching with
 * fewer slots than requests, 6 and 20 (rows come and go, so the graphs' row counts and attended positions
 * vary, and the cache grows past its first capacity, dropping every graph), greedy rows and
 * sampled ones (top-p 1 and 0.9). With TorchScript's fuser off every request's tokens must be
 * equal, also on two threads at once and with next turns keeping their slot's prefix; with it on
 * the differences are reported (see {@link #compare}); graphs must have been captured. Usage:
 * GpuDecodeGraphCheck MODEL_DIR...
 */
public final class GpuDecodeGraphCheck {
    private static final int REQUESTS = 60;

    private GpuDecodeGraphCheck() {}

    public static void main(String[] dirs) {
        for (String dir : dirs) {
            try (TargetModel gpu = TargetModel.load(Path.of(dir), Device.gpu(), DataType.FLOAT16)) {
                List<Generator.Request> work = requests(gpu.config().vocabSize());
                String name = Path.of(dir).getFileName().toString();
                System.setProperty("eaglespark.jit-fuser", "false");
                compare(gpu, work, 6, false, name);
                Run reference = compare(gpu, work, 20, false, name); // 20: rows past 8 run in buckets of 8
                onOtherThreads(gpu, work, reference, name);
                withPrefixReuse(gpu, name);
                System.setProperty("eaglespark.jit-fuser", "true");
                compare(gpu, work, 6, true, name);
                compare(gpu, work, 20, true, name);
                afterTheFuser(gpu, work, reference, name);
            }
        }
        System.clearProperty("eaglespark.jit-fuser");
        GpuCheck.exit();
    }

    /**
     * The interpreter, the graphs, the interpreter again. Without the fuser the same kernels run
     * on the same inputs: every token must match. With it (the default) the interpreter runs a
     * shape op by op until the executor has profiled it, then fused, so which kernels round a
     * step depends on what ran before; the differences are reported beside the interpreter's
     * against itself, and graphs must have been captured.
     */
    private static Run compare(TargetModel gpu, List<Generator.Request> work, int slots, boolean fuser, String name) {
        System.setProperty("eaglespark.cuda-graphs", "false");
        Run eager = run(gpu, work, slots);
        System.setProperty("eaglespark.cuda-graphs", "true");
        Run graphed = run(gpu, work, slots);
        System.setProperty("eaglespark.cuda-graphs", "false");
        Run again = run(gpu, work, slots);
        System.clearProperty("eaglespark.cuda-graphs");
        int differ = differ(eager, graphed);
        int self = differ(eager, again);
        String line = String.format("%s fp16, fuser %s, %d requests (%,d tokens) through %d slots: %d differ between "
                        + "CUDA graphs (%d captured, %.2f s) and the interpreter (%.2f s); the interpreter against "
                        + "itself: %d", name, fuser ? "on" : "off", work.size(),
                eager.tokens.stream().mapToLong(t -> t.length).sum(), slots, differ, graphed.stats.graphs(),
                graphed.stats.seconds(), eager.stats.seconds(), self);
        boolean captured = graphed.stats.graphs() > 0 && eager.stats.graphs() == 0;
        GpuCheck.report(captured && (fuser || differ == 0 && self == 0), line);
        return eager;
    }

    /**
     * Decoding on other threads than the reference's (fuser off from the first call, 20 slots), as
     * the tasks of one executor do: the interpreter and CUDA graphs on two threads at once must
     * give the reference's tokens, and one thread's captures must not break the other's replays
     * (libtorch aborts a replay during a capture).
     */
    private static void onOtherThreads(TargetModel gpu, List<Generator.Request> work, Run reference, String name) {
        for (boolean graphs : new boolean[] {false, true}) {
            System.setProperty("eaglespark.cuda-graphs", Boolean.toString(graphs));
            List<Run> runs = threads(2, () -> run(gpu, work, 20));
            long captured = runs.stream().mapToLong(r -> r == null ? 0 : r.stats.graphs()).sum();
            GpuCheck.report(differ(reference, runs) == 0 && (graphs ? captured > runs.size() : captured == 0),
                    String.format("%s fp16, fuser off, %s on two threads at once through 20 slots each: %d of %d "
                                    + "requests differ from the main thread's interpreter, %d graphs captured", name,
                            graphs ? "CUDA graphs" : "the interpreter", differ(reference, runs),
                            runs.size() * work.size(), captured));
        }
        System.clearProperty("eaglespark.cuda-graphs");
    }

    /**
     * Multi-turn work with prefix reuse (fuser off, 6 slots; {@link MultiTurnWork}): next turns
     * extend what their slots hold, and rows move down with their prefix. CUDA graphs must give the
     * interpreter's tokens, and positions must have been kept. Reported beside it: the answers
     * that differ from whole prefills (in fp16 the extension's attention rounds otherwise than the
     * prefill's flash kernel, so sampled rows may move).
     */
    private static void withPrefixReuse(TargetModel gpu, String name) {
        System.setProperty("eaglespark.cuda-graphs", "false");
        MultiTurnWork.Turns eager = MultiTurnWork.run(gpu, 12, 6, true);
        MultiTurnWork.Turns whole = MultiTurnWork.run(gpu, 12, 6, false);
        System.setProperty("eaglespark.cuda-graphs", "true");
        MultiTurnWork.Turns graphed = MultiTurnWork.run(gpu, 12, 6, true);
        System.clearProperty("eaglespark.cuda-graphs");
        int n = eager.answers().size();
        GpuCheck.report(eager.differ(graphed) == 0 && graphed.stats().graphs() > 0 && eager.stats().reused() > 0,
                String.format("%s fp16, fuser off, 12 conversations of %d turns through 6 slots, next turns keeping "
                                + "their slot's prefix (%,d positions kept, %,d computed): %d of %d answers differ "
                                + "between CUDA graphs and the interpreter", name, MultiTurnWork.TURNS,
                        eager.stats().reused(), eager.stats().prefilled(), eager.differ(graphed), n));
        System.out.printf("info %s fp16, fuser off, the same with every prompt prefilled whole: %d of %d answers "
                + "differ from prefix reuse's%n", name, whole.differ(eager), n);
    }

    /**
     * Reported, not judged: the interpreter with the fuser off again, once the fuser has run.
     * libtorch's executor keeps a module's optimized plan once it has made one and runs it from then
     * on, whatever the setting says, so these tokens differ from the reference's as fused ones do:
     * {@code -Deaglespark.jit-fuser=false} holds only when set before the first call.
     */
    private static void afterTheFuser(TargetModel gpu, List<Generator.Request> work, Run reference, String name) {
        System.setProperty("eaglespark.jit-fuser", "false");
        System.setProperty("eaglespark.cuda-graphs", "false");
        Run again = run(gpu, work, 20);
        System.clearProperty("eaglespark.cuda-graphs");
        int greedy = 0;
        for (int i = 0; i < work.size(); i += 3) { // every third request is greedy (requests)
            greedy += Arrays.equals(reference.tokens.get(i), again.tokens.get(i)) ? 0 : 1;
        }
        System.out.printf("info %s fp16, fuser off after the fuser's runs, the interpreter through 20 slots: %d of %d "
                + "requests differ from the first run with it off, %d of %d greedy ones%n", name,
                differ(reference, again), work.size(), greedy, (work.size() + 2) / 3);
    }

    /** {@code n} threads running {@code run} at once; a thread that failed leaves a null. */
    private static List<Run> threads(int n, java.util.function.Supplier<Run> run) {
        List<Run> runs = Arrays.asList(new Run[n]); // List.of refuses the nulls
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            int i = t;
            threads.add(new Thread(() -> runs.set(i, run.get()), "decode-" + t));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return runs;
    }

    /** Requests of {@code runs} that differ from {@code reference}'s (all of a null run's). */
    private static int differ(Run reference, List<Run> runs) {
        int n = 0;
        for (Run r : runs) {
            n += r == null ? reference.tokens.size() : differ(reference, r);
        }
        return n;
    }

    private static int differ(Run a, Run b) {
        int n = 0;
        for (int i = 0; i < a.tokens.size(); i++) {
            n += Arrays.equals(a.tokens.get(i), b.tokens.get(i)) ? 0 : 1;
        }
        return n;
    }

    private record Run(List<long[]> tokens, ContinuousBatcher.Stats stats) {}

    /** Prompts of 3 to 120 tokens, answers of 1 to 200 (past the cache's first 256 positions), every third row greedy. */
    private static List<Generator.Request> requests(int vocab) {
        Random r = new Random(7);
        List<Generator.Request> out = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            long[] prompt = r.longs(3 + r.nextInt(118), 0, vocab).toArray();
            int answer = 1 + r.nextInt(200);
            Sampling s = i % 3 == 0 ? Sampling.GREEDY : new Sampling(0.8, i % 3 == 1 ? 1.0 : 0.9);
            out.add(new Generator.Request(prompt, answer, s, 1000 + i));
        }
        return out;
    }

    private static Run run(TargetModel model, List<Generator.Request> work, int slots) {
        long[][] tokens = new long[work.size()][];
        int[] next = {0};
        ContinuousBatcher.Stats stats = new ContinuousBatcher(model, Set.of(), slots, 320,
                ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                    @Override
                    public ContinuousBatcher.Job<Integer> next() {
                        return next[0] < work.size() ? new ContinuousBatcher.Job<>(next[0], work.get(next[0]++)) : null;
                    }

                    @Override
                    public void done(Integer tag, Generator.Result result) {
                        tokens[tag] = result.tokens();
                    }
                });
        return new Run(Arrays.asList(tokens), stats);
    }
}
