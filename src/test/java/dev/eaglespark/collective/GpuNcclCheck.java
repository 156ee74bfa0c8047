package dev.eaglespark.collective;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.eaglespark.bench.TrainBench;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.gpu.GpuCheck;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.train.DraftTrainer;
import dev.eaglespark.train.GradientAverager;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The NCCL collective on GPUs, end to end: a program run by {@code jobs/gpu/nccl-checks.sh} and
 * {@code jobs/gpu/gpu-checks.sh} (CI has no GPU). Drafts at tiny-llama3's shapes, fp16, train
 * through the real trainer and averager.
 *
 * <p>One GPU: NCCL and the CUDA runtime load (libtorch's, or the library
 * {@code -Deaglespark.nccl.library} names); whether libtorch's current stream is its default
 * stream; a one-rank communicator returns every host-array operation's input, and an out-of-place
 * all-reduce of a real gradient buffer (3 buckets) returns it bit for bit; the averager through it
 * returns every update's gradients bit for bit, and {@value #UPDATES} updates end with the weights
 * of the same run without a collective (limit: {@value #WEIGHT_LIMIT} of the largest weight, the
 * same kernels on the same values being equal unless a kernel is nondeterministic, or twice what
 * two runs without a collective differ by); a rank that joins a communicator of two alone fails
 * after the connect timeout instead of hanging.
 *
 * <p>Two GPUs or more, also: two ranks average exactly (every element of the result is
 * {@code (a + b) / 2} in fp32, on both ranks, whose weights stay equal bit for bit); NCCL and the
 * ring train to the same weights (limit as above, against two ring runs); a cancelled task and a
 * dead peer fail the survivor's all-reduce within the limits below. Each rank draws its weights and
 * data from its own GPU's generator, so runs repeat.
 *
 * <p>Usage: {@code GpuNcclCheck FIXTURES_DIR}; prints one line per check, exits 1 if any failed.
 */
public final class GpuNcclCheck {
    private static final int UPDATES = 4;
    private static final double WEIGHT_LIMIT = 1e-5;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final CollectiveOptions OPTIONS = CollectiveOptions.defaults().withBindHost("127.0.0.1")
            .withAdvertiseHost("127.0.0.1").withConnectTimeout(TIMEOUT).withIoTimeout(Duration.ofSeconds(60));

    private GpuNcclCheck() {}

    public static void main(String[] args) throws Exception {
        DraftConfig cfg = DraftConfig.forTarget(TargetConfig.load(Path.of(args[0], "tiny-llama3", "config.json")),
                500, 3);
        int gpus = Engine.getInstance().getGpuCount();
        if (GpuCheck.report(gpus > 0, gpus + " GPUs visible")) {
            binding();
            oneRank(cfg);
            oneWorkerTrainsAsWithoutCollective(cfg);
            joiningAloneTimesOut();
            if (gpus >= 2) {
                twoRanksAverageExactly(cfg);
                cancelledAndDeadPeersFailTheSurvivor();
            } else {
                System.out.println("note: one GPU: the two-rank checks need two");
            }
        }
        GpuCheck.exit();
    }

    private static void binding() {
        NcclLibrary nccl = NcclLibrary.load();
        GpuCheck.report(true, "NCCL " + NcclLibrary.versionName(nccl.version) + " from " + nccl.source
                + ", CUDA runtime " + CudaRuntime.load().source);
        var isDefault = CurrentStream.isDefault(Device.gpu(0));
        GpuCheck.report(isDefault.orElse(true), isDefault.map(d -> "libtorch's current stream on gpu(0) is "
                + (d ? "" : "not ") + "its default stream (TorchScript cuda::current_stream)")
                .orElse("TorchScript cannot tell libtorch's current stream (logged above): the collective"
                        + " synchronises the device before its reductions instead"));
    }

    private static void oneRank(DraftConfig cfg) throws Exception {
        try (Collective c = connect(CollectiveKind.NCCL, 1, OPTIONS).get(0)) {
            GpuCheck.report(c instanceof NcclCollective, "--collective nccl with one GPU rank: " + c.getClass()
                    .getSimpleName());
            float[] x = {1.5f, -2f, 3.25f, 1e-20f};
            float[] sum = x.clone();
            c.allReduceSum(sum);
            byte[] path = "hdfs://ckpt/step-00000004".getBytes(StandardCharsets.UTF_8);
            boolean same = Arrays.equals(x, sum)
                    && Arrays.equals(new double[] {0.1, -7}, c.allReduceSum(new double[] {0.1, -7}))
                    && Arrays.equals(new long[] {1L << 40}, c.allReduceSum(new long[] {1L << 40}))
                    && Arrays.equals(path, c.broadcast(path));
            c.barrier();
            GpuCheck.report(same, "host-array all-reduce, sums, broadcast and barrier of a one-rank communicator"
                    + " return their input");

            DeviceCollective nccl = (DeviceCollective) c;
            boolean[] equal = {true};
            long[] elements = {0};
            DraftTrainer.GradientReducer outOfPlace = (grads, means, sums) -> {
                NDManager owner = grads.values().iterator().next().getManager();
                try (NDManager scope = owner.newSubManager()) {
                    NDList parts = new NDList();
                    grads.values().forEach(g -> parts.add(g.reshape(-1)));
                    NDArray flat = NDArrays.concat(parts);
                    flat.attach(scope);
                    parts.close();
                    NDArray target = flat.zerosLike();
                    target.attach(scope);
                    long n = flat.size();
                    long bucket = (n + 2) / 3;
                    List<DeviceCollective.Span> spans = new ArrayList<>();
                    for (long from = 0; from < n; from += bucket) {
                        NDIndex range = new NDIndex("{}:{}", from, Math.min(n, from + bucket));
                        try (NDArray s = flat.get(range); NDArray t = target.get(range)) {
                            spans.add(new DeviceCollective.Span(TensorAddress.of(s), TensorAddress.of(t), s.size()));
                        }
                    }
                    nccl.allReduceSum(spans);
                    equal[0] &= Arrays.equals(flat.toFloatArray(), target.toFloatArray());
                    elements[0] = n;
                }
            };
            try (TrainBench bench = new TrainBench(cfg, Device.gpu(0), Precision.FP16, 3, outOfPlace)) {
                bench.run(2, 64, 2, 0, 1);
            }
            GpuCheck.report(equal[0] && elements[0] > 0, "out-of-place all-reduce of a real gradient buffer ("
                    + elements[0] + " fp32 elements, 3 buckets) by a one-rank communicator equals its input bit for bit");
        }
    }

    private static void oneWorkerTrainsAsWithoutCollective(DraftConfig cfg) throws Exception {
        Map<String, float[]> alone = train(cfg, List.of(DraftTrainer.GradientReducer.SINGLE)).get(0).weights;
        double noise = relativeDifference(alone, train(cfg, List.of(DraftTrainer.GradientReducer.SINGLE)).get(0).weights);
        try (Collective c = connect(CollectiveKind.NCCL, 1, OPTIONS).get(0);
             GradientAverager averager = new GradientAverager(c)) {
            Rank r = train(cfg, List.of(averager)).get(0);
            boolean unchanged = true;
            for (int u = 0; u < r.in.size(); u++) {
                unchanged &= sameBits(r.in.get(u), r.out.get(u));
            }
            GpuCheck.report(unchanged && r.in.size() == UPDATES, "the averager through a one-rank communicator returns"
                    + " each of " + r.in.size() + " updates' gradients bit for bit");
            reportWeights("with --collective nccl and one worker against none", relativeDifference(alone, r.weights),
                    noise);
        }
    }

    private static void joiningAloneTimesOut() {
        long t0 = System.nanoTime();
        try {
            NcclCollective.join(0, 2, 0, OPTIONS, true, message -> new String[] {message, "nccl-id "}, () -> false)
                    .close();
            GpuCheck.report(false, "a rank joining a communicator of two alone succeeded");
        } catch (CollectiveException e) {
            double s = (System.nanoTime() - t0) / 1e9;
            GpuCheck.report(s < TIMEOUT.toSeconds() + 10, String.format("a rank joining a communicator of two alone"
                    + " fails after %.1f s (connect timeout %d s): %s", s, TIMEOUT.toSeconds(), e.getMessage()));
        }
    }

    private static void twoRanksAverageExactly(DraftConfig cfg) throws Exception {
        List<Map<String, float[]>> weights = new ArrayList<>();
        for (CollectiveKind kind : new CollectiveKind[] {CollectiveKind.NCCL, CollectiveKind.RING, CollectiveKind.RING}) {
            List<Collective> groups = connect(kind, 2, OPTIONS);
            List<GradientAverager> averagers = groups.stream().map(GradientAverager::new).toList();
            List<Rank> ranks = train(cfg, List.copyOf(averagers));
            averagers.forEach(GradientAverager::close);
            groups.forEach(Collective::close);
            if (kind == CollectiveKind.NCCL) {
                boolean exact = ranks.get(0).in.size() == UPDATES;
                for (int u = 0; u < ranks.get(0).in.size(); u++) {
                    Map<String, float[]> a = ranks.get(0).in.get(u);
                    Map<String, float[]> b = ranks.get(1).in.get(u);
                    Map<String, float[]> mean = new LinkedHashMap<>();
                    a.forEach((name, x) -> {
                        float[] m = new float[x.length];
                        for (int i = 0; i < x.length; i++) {
                            m[i] = (x[i] + b.get(name)[i]) / 2f;
                        }
                        mean.put(name, m);
                    });
                    exact &= sameBits(mean, ranks.get(0).out.get(u)) && sameBits(mean, ranks.get(1).out.get(u));
                }
                GpuCheck.report(exact, "two GPU ranks, " + UPDATES + " updates: NCCL's averages are (a + b) / 2 in fp32"
                        + " bit for bit on both ranks");
                GpuCheck.report(sameBits(ranks.get(0).weights, ranks.get(1).weights),
                        "both NCCL ranks end with the same weights bit for bit");
            }
            weights.add(ranks.get(0).weights);
        }
        reportWeights("on two ranks, NCCL against the ring", relativeDifference(weights.get(1), weights.get(0)),
                relativeDifference(weights.get(1), weights.get(2)));
    }

    /**
     * Weights of two runs that should agree: within {@value #WEIGHT_LIMIT} of the largest weight, or
     * twice what two runs of the reference differ by where the GPU's kernels are not deterministic.
     */
    private static void reportWeights(String what, double difference, double referenceNoise) {
        double limit = Math.max(WEIGHT_LIMIT, 2 * referenceNoise);
        GpuCheck.report(difference <= limit, String.format("%d updates %s: max |w - w'| / max |w| = %.3g (limit %.3g;"
                + " two runs of the reference differ by %.3g)", UPDATES, what, difference, limit, referenceNoise));
    }

    private static void cancelledAndDeadPeersFailTheSurvivor() throws Exception {
        AtomicBoolean cancelled = new AtomicBoolean();
        List<Collective> groups = connect(CollectiveKind.NCCL, 2, OPTIONS.withIoTimeout(TIMEOUT), cancelled::get);
        try {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            long t0 = System.nanoTime();
            Future<?> alone = pool.submit(() -> groups.get(0).allReduceSum(new float[1 << 20]));
            Thread.sleep(1000);
            cancelled.set(true);
            expectFailure(alone, t0, 1 + 5, "rank 0 all-reducing alone after its task was cancelled 1 s in");
            pool.shutdownNow();
        } finally {
            groups.forEach(Collective::close);
        }
        List<Collective> survivors = connect(CollectiveKind.NCCL, 2, OPTIONS.withIoTimeout(TIMEOUT), () -> false);
        try {
            survivors.get(1).close(); // aborts rank 1's communicator: a dead peer
            ExecutorService pool = Executors.newSingleThreadExecutor();
            long t0 = System.nanoTime();
            Future<?> alone = pool.submit(() -> survivors.get(0).allReduceSum(new float[1 << 20]));
            expectFailure(alone, t0, TIMEOUT.toSeconds() + 10, "rank 0 all-reducing after rank 1 aborted");
            pool.shutdownNow();
        } finally {
            survivors.forEach(Collective::close);
        }
    }

    private static void expectFailure(Future<?> op, long t0, long limitSeconds, String what) throws Exception {
        try {
            op.get(limitSeconds + 60, TimeUnit.SECONDS);
            GpuCheck.report(false, what + ": succeeded");
        } catch (java.util.concurrent.ExecutionException e) {
            double s = (System.nanoTime() - t0) / 1e9;
            GpuCheck.report(e.getCause() instanceof CollectiveException && s < limitSeconds, String.format(
                    "%s: fails after %.1f s (limit %d s): %s", what, s, limitSeconds, e.getCause().getMessage()));
        }
    }

    /** What one rank did: its gradients into and out of the reducer per update, and its final weights. */
    private static final class Rank implements DraftTrainer.GradientReducer {
        final DraftTrainer.GradientReducer reducer;
        final List<Map<String, float[]>> in = new ArrayList<>();
        final List<Map<String, float[]>> out = new ArrayList<>();
        Map<String, float[]> weights;

        Rank(DraftTrainer.GradientReducer reducer) {
            this.reducer = reducer;
        }

        @Override
        public void reduce(Map<String, NDArray> grads, double[] means, long[] sums) {
            in.add(read(grads));
            reducer.reduce(grads, means, sums);
            out.add(read(grads));
        }

        private static Map<String, float[]> read(Map<String, NDArray> grads) {
            Map<String, float[]> m = new LinkedHashMap<>();
            grads.forEach((name, g) -> m.put(name, g.toFloatArray()));
            return m;
        }
    }

    /**
     * {@value #UPDATES} updates of rank r on gpu(r) with reducers.get(r), the ranks as threads. Every
     * rank starts from the same weights (drawn after the same seed on its own GPU's generator); rank
     * r trains on sequences of 64 - 16r tokens, so the ranks' gradients differ.
     */
    private static List<Rank> train(DraftConfig cfg, List<DraftTrainer.GradientReducer> reducers) throws Exception {
        List<Rank> ranks = new ArrayList<>();
        List<TrainBench> benches = new ArrayList<>();
        for (int r = 0; r < reducers.size(); r++) {
            Engine.getInstance().setRandomSeed(7);
            ranks.add(new Rank(reducers.get(r)));
            benches.add(new TrainBench(cfg, Device.gpu(r), Precision.FP16, 3, ranks.get(r)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(reducers.size());
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < reducers.size(); r++) {
                int rank = r;
                done.add(pool.submit(() -> {
                    benches.get(rank).run(2, 64 - 16 * rank, 2, 0, UPDATES);
                    ranks.get(rank).weights = benches.get(rank).trainableWeights();
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
            benches.forEach(TrainBench::close);
        }
        return ranks;
    }

    private static List<Collective> connect(CollectiveKind kind, int n, CollectiveOptions options) throws Exception {
        return connect(kind, n, options, () -> false);
    }

    /** n ranks as threads, rank r on gpu(r), agreeing on {@code kind} as the train stage does. */
    private static List<Collective> connect(CollectiveKind kind, int n, CollectiveOptions options,
            java.util.function.BooleanSupplier cancelled) throws Exception {
        List<RingListener> listeners = new ArrayList<>();
        List<java.net.InetSocketAddress> peers = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            listeners.add(RingListener.open(options));
            peers.add(listeners.get(r).address());
        }
        byte[] secret = "gpu-nccl-check-secret-0123456789".getBytes(StandardCharsets.UTF_8);
        ThreadAllGather rendezvous = new ThreadAllGather(n, 60);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Collective>> groups = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                groups.add(pool.submit(() -> CollectiveChoice.connect(kind, rank, n, Device.gpu(rank), options,
                        rendezvous.forRank(rank), cancelled,
                        () -> RingCollective.connect(listeners.get(rank), rank, n, peers, secret))));
            }
            List<Collective> out = new ArrayList<>();
            for (Future<Collective> f : groups) {
                out.add(f.get(2, TimeUnit.MINUTES));
            }
            return out;
        } finally {
            pool.shutdownNow();
            listeners.forEach(RingListener::close);
        }
    }

    private static boolean sameBits(Map<String, float[]> a, Map<String, float[]> b) {
        if (!a.keySet().equals(b.keySet())) {
            return false;
        }
        for (String name : a.keySet()) {
            if (!Arrays.equals(a.get(name), b.get(name))) { // Arrays.equals on float[] compares bits
                return false;
            }
        }
        return true;
    }

    /** max |a - b| over every weight, over max |a|. */
    private static double relativeDifference(Map<String, float[]> a, Map<String, float[]> b) {
        double diff = 0;
        double scale = 0;
        for (String name : a.keySet()) {
            float[] x = a.get(name);
            float[] y = b.get(name);
            for (int i = 0; i < x.length; i++) {
                diff = Math.max(diff, Math.abs(x[i] - y[i]));
                scale = Math.max(scale, Math.abs(x[i]));
            }
        }
        return diff / Math.max(scale, Float.MIN_NORMAL);
    }
}
