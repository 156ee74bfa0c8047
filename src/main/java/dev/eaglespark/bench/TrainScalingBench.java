package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.eaglespark.collective.Collective;
import dev.eaglespark.collective.CollectiveChoice;
import dev.eaglespark.collective.CollectiveKind;
import dev.eaglespark.collective.CollectiveOptions;
import dev.eaglespark.collective.NcclCollective;
import dev.eaglespark.collective.RingCollective;
import dev.eaglespark.collective.RingListener;
import dev.eaglespark.collective.ThreadAllGather;
import dev.eaglespark.collective.WireType;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.train.GradientAverager;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Data-parallel training throughput without Spark: one thread per rank in this JVM, rank r on
 * GPU r mod the visible GPUs, gradients averaged after every update by the collective the train
 * stage would choose ({@code --collective}: NCCL on the GPUs or the ring over loopback), agreed
 * and joined as the train stage does it. Reports rank 0's step time, the tokens of all ranks per
 * second and the mean time of one gradient all-reduce, for each number of micro-batches per update.
 */
public final class TrainScalingBench {
    /** What the ranks measured together at one number of micro-batches per update. */
    public record Result(int workers, String collective, WireType wire, TrainBench.Result rank0,
                         double allReduceSeconds, String breakdown) {
        public String format() {
            return String.format("%d workers (%s, %s wire): median %.1f ms/step, %,.0f tokens/s in all, all-reduce %.1f ms"
                    + " per update (%s); rank 0: %s", workers, collective, wire, rank0.medianSeconds() * 1e3,
                    workers * rank0.tokensPerSecond(), allReduceSeconds * 1e3, breakdown, rank0.format());
        }
    }

    private TrainScalingBench() {}

    /** One result per entry of {@code microBatches}, in that order (the same ranks and weights for all). */
    public static List<Result> run(DraftConfig cfg, int workers, CollectiveKind collective, WireType wire,
                                   Precision precision, int ttt, int batch, int seq, int[] microBatches, int warmup,
                                   int iterations) throws Exception {
        CollectiveOptions options = CollectiveOptions.defaults().withWireType(wire).withAdvertiseHost("127.0.0.1");
        List<RingListener> listeners = new ArrayList<>();
        List<InetSocketAddress> peers = new ArrayList<>();
        for (int r = 0; r < workers; r++) {
            RingListener l = RingListener.open(options);
            listeners.add(l);
            peers.add(l.address());
        }
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        int gpus = Engine.getInstance().getGpuCount();
        ThreadAllGather rendezvous = new ThreadAllGather(workers, options.connectTimeout().toSeconds());
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<List<Result>>> ranks = new ArrayList<>();
            for (int r = 0; r < workers; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    Device device = gpus == 0 ? Device.cpu() : Device.gpu(rank % gpus);
                    try (Collective group = CollectiveChoice.connect(collective, rank, workers, device, options,
                            rendezvous.forRank(rank), () -> false,
                            () -> RingCollective.connect(listeners.get(rank), rank, workers, peers, secret));
                         GradientAverager averager = new GradientAverager(group);
                         TrainBench bench = new TrainBench(cfg, device, precision, ttt, averager)) {
                        String name = group instanceof NcclCollective ? "NCCL"
                                : group instanceof RingCollective ? "ring" : "no collective";
                        List<Result> results = new ArrayList<>();
                        for (int m : microBatches) {
                            averager.resetTimes();
                            TrainBench.Result result = bench.run(batch, seq, m, warmup, iterations);
                            results.add(new Result(workers, name, wire, result, averager.meanSeconds(),
                                    averager.breakdown()));
                        }
                        return results;
                    }
                }));
            }
            List<Result> first = null;
            for (Future<List<Result>> f : ranks) {
                List<Result> out = f.get();
                first = first == null ? out : first;
            }
            return first;
        } finally {
            pool.shutdownNow();
            listeners.forEach(RingListener::close); // those a ring did not take
        }
    }
}
