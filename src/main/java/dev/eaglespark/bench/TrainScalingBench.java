package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.eaglespark.collective.Collective;
import dev.eaglespark.collective.CollectiveOptions;
import dev.eaglespark.collective.RingCollective;
import dev.eaglespark.collective.RingListener;
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
 * GPU r mod the visible GPUs, gradients averaged by the ring over loopback after every update,
 * as the train stage does it. Reports rank 0's step time, the tokens of all ranks per second
 * and the mean time of one gradient all-reduce.
 */
public final class TrainScalingBench {
    /** What the ranks measured together. */
    public record Result(int workers, WireType wire, TrainBench.Result rank0, double allReduceSeconds,
                         String breakdown) {
        public String format() {
            return String.format("%d workers (%s wire): median %.1f ms/step, %,.0f tokens/s in all, all-reduce %.1f ms"
                    + " per update (%s); rank 0: %s", workers, wire, rank0.medianSeconds() * 1e3,
                    workers * rank0.tokensPerSecond(), allReduceSeconds * 1e3, breakdown, rank0.format());
        }
    }

    private TrainScalingBench() {}

    public static Result run(DraftConfig cfg, int workers, WireType wire, Precision precision, int ttt, int batch,
                             int seq, int microBatches, int warmup, int iterations) throws Exception {
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
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<Object[]>> ranks = new ArrayList<>();
            for (int r = 0; r < workers; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    Device device = gpus == 0 ? Device.cpu() : Device.gpu(rank % gpus);
                    try (Collective group = RingCollective.connect(listeners.get(rank), rank, workers, peers, secret);
                         GradientAverager averager = new GradientAverager(group)) {
                        try (TrainBench bench = new TrainBench(cfg, device, precision, ttt, averager)) {
                            TrainBench.Result result = bench.run(batch, seq, microBatches, warmup, iterations);
                            return new Object[] {result, averager.meanSeconds(), averager.breakdown()};
                        }
                    }
                }));
            }
            Object[] first = null;
            for (Future<Object[]> f : ranks) {
                Object[] out = f.get();
                first = first == null ? out : first;
            }
            return new Result(workers, wire, (TrainBench.Result) first[0], (Double) first[1], (String) first[2]);
        } finally {
            pool.shutdownNow();
        }
    }
}
