package dev.eaglespark.spark;

import ai.djl.Device;
import dev.eaglespark.collective.Collective;
import dev.eaglespark.collective.CollectiveChoice;
import dev.eaglespark.collective.CollectiveKind;
import dev.eaglespark.collective.CollectiveOptions;
import dev.eaglespark.collective.RingCollective;
import dev.eaglespark.collective.RingListener;
import dev.eaglespark.collective.WireType;
import dev.eaglespark.train.CheckpointLease;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.TargetFiles;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.train.BestCheckpoint;
import dev.eaglespark.train.Checkpoints;
import dev.eaglespark.train.DraftTraining;
import dev.eaglespark.train.StepMetrics;
import dev.eaglespark.train.TargetCheck;
import dev.eaglespark.train.TrainJob;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import scala.collection.Iterator;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * The {@code train} stage: one barrier task per worker (GPU), all started together. The tasks
 * agree on their collective through {@code allGather} ({@link CollectiveChoice}): NCCL, whose
 * unique id the next allGather carries, or the ring, for which each task opens a listener,
 * publishes its address once through {@code allGather} and joins with the job's secret. Each runs
 * its rank of {@link DraftTraining}, gradients averaged by the collective's all-reduce. A failed
 * task fails the stage; Spark retries it as a whole and every rank of the retry resumes from the
 * newest committed checkpoint.
 */
public final class TrainStage {
    private static final Logger LOG = LogManager.getLogger(TrainStage.class);
    /** Test hook: the last rank throws after this update in the stage's first attempt. */
    public static final String FAIL_AT_STEP_CONF = "spark.eaglespark.test.failTrainAfterStep";

    /**
     * How the workers run: their number, the device ("auto": the GPU Spark assigns, else the CPU;
     * "gpu": also in local mode, rank mod the visible GPUs; "cpu"), the all-reduce's wire format,
     * how long a rank waits for a silent peer and the collective (auto: NCCL when every rank can).
     */
    public record Workers(int count, String device, WireType wire, Duration ioTimeout, CollectiveKind collective)
            implements Serializable {
        public Workers(int count, String device, WireType wire, Duration ioTimeout) {
            this(count, device, wire, ioTimeout, CollectiveKind.AUTO);
        }
    }

    /** What rank 0 reports at the end; {@code best} is the best checkpoint by validation (NONE without). */
    public record Summary(long steps, String lastCheckpoint, double lastLoss, float[] lastAcc, long skipped,
                          BestCheckpoint best) implements Serializable {
        public String format() {
            return String.format("trained %d updates (%d of this run's skipped: loss or gradients not finite);"
                            + " final loss %.4f, step-0 accuracy %.3f; last checkpoint %s%s", steps, skipped, lastLoss,
                    lastAcc.length == 0 ? Float.NaN : lastAcc[0], lastCheckpoint,
                    best.isNone() ? "" : "; best by validation " + best.format());
        }
    }

    private TrainStage() {}

    public static Summary run(SparkSession spark, TrainJob job, Workers workers) throws IOException {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        requireStaticAllocation(jsc.getConf());
        requireInputs(job, jsc.hadoopConfiguration());
        // The driver holds the checkpoint directory for the whole job (its retried stages
        // included); the tasks check the lease names this application before every checkpoint.
        String app = jsc.sc().applicationId();
        try (CheckpointLease lease = CheckpointLease.acquire(job.checkpoints(), app,
                jsc.sc().applicationAttemptId().isDefined() ? jsc.sc().applicationAttemptId().get() : "1", jsc.hadoopConfiguration())) {
            // Checked here, once: inside the stage a retry resumes by design.
            new Checkpoints(job.checkpoints(), jsc.hadoopConfiguration()).startingPoint(job.resume());
            // Refused here rather than by every attempt of rank 0 (which stages the export itself).
            // (a shipped target as the driver's unpacked copy: Hadoop has no file system for its scheme)
            try (var export = DraftTraining.prepareExport(job.withTarget(ShippedModels.resolve(job.target())),
                    jsc.hadoopConfiguration())) {
                LOG.info("the export goes to {}", export == null ? "nowhere (no --export)" : export.output());
            }
            Configuration tasks = new Configuration(jsc.hadoopConfiguration());
            tasks.set(CheckpointLease.RUN_CONF, app);
            TrainJob planned = job.planned(jsc.hadoopConfiguration()); // online: the splits planned once, here
            return runStage(spark, jsc, planned, workers, new HadoopConf(tasks));
        }
    }

    private static Summary runStage(SparkSession spark, JavaSparkContext jsc, TrainJob job, Workers workers,
                                    HadoopConf conf) {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        LongAccumulator steps = jsc.sc().longAccumulator("train: updates (rank 0)");
        LongAccumulator tokens = jsc.sc().longAccumulator("train: tokens (all ranks)");
        int failAfter = Integer.parseInt(spark.conf().get(FAIL_AT_STEP_CONF, "-1"));
        RankTask task = new RankTask(job, workers, HexFormat.of().formatHex(secret),
                conf, steps, tokens, failAfter);
        List<Integer> ranks = IntStream.range(0, workers.count()).boxed().toList();
        RDD<Summary> barrier = jsc.parallelize(ranks, workers.count()).rdd().barrier()
                .mapPartitions(task, false, ClassTag$.MODULE$.apply(Summary.class));
        jsc.setJobDescription("eaglespark train: " + workers.count() + " workers on " + job.input());
        // Spark retries a failed barrier stage only when it is a shuffle map stage (a failed
        // barrier result stage aborts the job), so the summaries go through a shuffle.
        List<Summary> results = JavaRDD.fromRDD(barrier, ClassTag$.MODULE$.apply(Summary.class)).repartition(1)
                .collect();
        if (results.size() != 1) {
            throw new IllegalStateException("expected rank 0's summary, got " + results.size());
        }
        return results.get(0);
    }

    /** A barrier stage holds all its executors for its whole run: Spark's own refusal comes late and vague. */
    static void requireStaticAllocation(SparkConf conf) {
        if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
            throw new IllegalStateException("the train stage is a barrier stage, which needs a fixed set of executors"
                    + " for its whole run: set spark.dynamicAllocation.enabled=false for it");
        }
    }

    /**
     * What every rank reads first, checked here: a wrong path, or features of another target,
     * then fail before any executor is held, naming the option (each rank would meet the same).
     */
    static void requireInputs(TrainJob job, Configuration conf) throws IOException {
        if (job.online() == null) { // online, the conversations are checked where their splits are planned
            require(new Path(OutputPublisher.current(job.features(), conf), FeatureManifest.FILE), "--features "
                    + job.features() + " is not the output of a features run", conf);
        }
        require(new Path(ShippedModels.resolve(job.target()), "config.json"), "--target " + job.target()
                + " is not a model directory", conf);
        if (!job.sharedHead()) {
            require(new Path(OutputPublisher.currentFile(job.vocab(), conf)), "--vocab " + job.vocab() + " does not exist", conf);
        }
        TargetCheck.require(job, TargetFiles.read(ShippedModels.resolve(job.target()), conf), conf, true);
    }

    private static void require(Path file, String what, Configuration conf) throws IOException {
        if (!file.getFileSystem(conf).exists(file)) {
            throw new FileNotFoundException(what + " (no " + file + ")");
        }
    }

    /** The body of one barrier task: rendezvous, ring, training. */
    static final class RankTask extends AbstractFunction1<Iterator<Integer>, Iterator<Summary>>
            implements Serializable {
        private final TrainJob job;
        private final Workers workers;
        private final String secret;
        private final HadoopConf conf;
        private final LongAccumulator steps;
        private final LongAccumulator tokens;
        private final int failAfter;

        RankTask(TrainJob job, Workers workers, String secret, HadoopConf conf, LongAccumulator steps,
                 LongAccumulator tokens, int failAfter) {
            this.job = job;
            this.workers = workers;
            this.secret = secret;
            this.conf = conf;
            this.steps = steps;
            this.tokens = tokens;
            this.failAfter = failAfter;
        }

        @Override
        public Iterator<Summary> apply(Iterator<Integer> ignored) {
            BarrierTaskContext ctx = BarrierTaskContext.get();
            int rank = ctx.partitionId();
            int world = ctx.getTaskInfos().length;
            String host = ctx.getTaskInfos()[rank].address().replaceFirst(":\\d+$", "");
            // Listen on the address Spark gave the task only, not on every interface.
            CollectiveOptions options = CollectiveOptions.defaults().withWireType(workers.wire())
                    .withIoTimeout(workers.ioTimeout()).withBindHost(host).withAdvertiseHost(host);
            boolean retry = ctx.stageAttemptNumber() > 0;
            TrainJob j = (retry ? job.resuming() : job).withTarget(ShippedModels.resolve(job.target()));
            if (retry) {
                LOG.warn("rank {}: attempt {} of the train stage: resuming from the newest checkpoint", rank,
                        ctx.stageAttemptNumber());
            }
            Device device = device(rank);
            // The rendezvous of the run (allGather costs about a second: never per step).
            try (Collective group = CollectiveChoice.connect(workers.collective(), rank, world, device, options,
                    ctx::allGather, ctx::isInterrupted, () -> ring(ctx, rank, world, options))) {
                DraftTraining.Summary s = DraftTraining.run(j, group, device, conf.get(), m -> {
                    if (rank == 0) { // the counts are already summed over the ranks
                        steps.add(1);
                        tokens.add(m.tokens());
                    }
                    if (!retry && rank == world - 1 && m.step() == failAfter) {
                        throw new IllegalStateException("injected failure after update " + m.step() + " ("
                                + FAIL_AT_STEP_CONF + ")");
                    }
                });
                if (rank != 0) {
                    return JavaConverters.asScalaIteratorConverter(List.<Summary>of().iterator()).asScala();
                }
                StepMetrics last = s.metrics().isEmpty() ? null : s.metrics().get(s.metrics().size() - 1);
                Summary summary = new Summary(s.steps(), s.lastCheckpoint(), last == null ? Double.NaN : last.loss(),
                        last == null ? new float[0] : last.stepAcc(), s.skipped(), s.best());
                return JavaConverters.asScalaIteratorConverter(List.of(summary).iterator()).asScala();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("rank " + rank + " of " + world + ": " + e.getMessage(), e);
            }
        }

        /** The ring: a listener whose address allGather publishes, joined with the job's secret. */
        private Collective ring(BarrierTaskContext ctx, int rank, int world, CollectiveOptions options) {
            RingListener listener = RingListener.open(options);
            InetSocketAddress me = listener.address();
            String[] published = ctx.allGather(me.getHostString() + ":" + me.getPort());
            List<InetSocketAddress> peers = new ArrayList<>();
            for (String p : published) {
                int colon = p.lastIndexOf(':');
                peers.add(new InetSocketAddress(p.substring(0, colon), Integer.parseInt(p.substring(colon + 1))));
            }
            return RingCollective.connect(listener, rank, world, peers, HexFormat.of().parseHex(secret));
        }

        private Device device(int rank) {
            return DeviceChoice.parse(workers.device()).forTask(rank);
        }
    }
}
