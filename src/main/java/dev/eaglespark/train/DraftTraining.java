package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.collective.Collective;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.SoftLabels;
import dev.eaglespark.export.DraftExport;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.features.FeatureOrigin;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.features.TargetFiles;
import dev.eaglespark.io.LocalDirs;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.model.CheckpointFiles;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.WeightLoader;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A training run of one worker (rank of world): builds the draft from the target's frozen
 * parts and the vocabulary, reads its shard of the features (or, online, of the conversations,
 * the target making their features in the run) in seeded order, updates, checkpoints (rank 0)
 * and resumes. With a gradient reducer that averages across workers the
 * same code is one rank of data-parallel training.
 */
public final class DraftTraining {
    private static final Logger LOG = LogManager.getLogger(DraftTraining.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What a run ended with: with a validation split, this run's validations and the best
     * checkpoint by expected acceptance length (of the whole run, resumed parts included).
     *
     * @param skipped updates of this run skipped for a non-finite loss or gradient
     */
    public record Summary(long steps, List<StepMetrics> metrics, String lastCheckpoint, long skipped,
                          List<ValidationMetrics> validations, BestCheckpoint best) {}

    /**
     * What keeps a run from losing data: the stop on SIGTERM, rank 0's lease on the checkpoint
     * directory and staged export (null on other ranks), and what a checkpoint must match.
     */
    private record Safety(GracefulStop stop, CheckpointLease lease, OutputPublisher export,
                          CheckpointCompatibility compatibility) {}

    private DraftTraining() {}

    /**
     * Runs this rank's part of the training: {@code group} holds the ranks (a
     * {@link dev.eaglespark.collective.LocalCollective} for one worker), whose gradients are averaged every update.
     */
    public static Summary run(TrainJob job, Collective group, Device device, Configuration conf) throws IOException {
        return run(job, group, device, conf, m -> { });
    }

    /** Called on every rank after every update (progress reports, fault injection in tests). */
    public interface UpdateListener {
        void afterUpdate(StepMetrics m) throws IOException;
    }

    public static Summary run(TrainJob job, Collective group, Device device, Configuration conf,
                              UpdateListener listener) throws IOException {
        java.nio.file.Path targetDir = LocalDirs.localize(job.target(), conf);
        TargetConfig tcfg = TargetConfig.load(targetDir.resolve("config.json"));
        FeatureOrigin origin = TargetCheck.require(job, TargetFiles.read(targetDir.toUri().toString(), conf), conf,
                group.rank() == 0);
        DraftVocab vocab = job.sharedHead() ? DraftVocab.identity(tcfg.vocabSize())
                : DraftVocab.read(job.vocab(), conf);
        Precision precision = job.settings().precision().on(device);
        if (job.online() == null) {
            try (TrainingInput<FeatureRecord> input = TrainingInput.features(job.features(), origin.auxLayerIds(), tcfg,
                    precision.dataType(), conf)) {
                return run(job, group, device, conf, listener, targetDir, tcfg, vocab, precision, input, origin);
            }
        }
        try (TrainingInput<TokenizedSample> input = TrainingInput.online(job.online(), targetDir, tcfg, device,
                precision.dataType(), conf)) {
            return run(job, group, device, conf, listener, targetDir, tcfg, vocab, precision, input, origin);
        }
    }

    /** @param origin what made the input ({@link TargetCheck}), recorded in every checkpoint */
    private static <T> Summary run(TrainJob job, Collective group, Device device, Configuration conf,
                                   UpdateListener listener, java.nio.file.Path targetDir, TargetConfig tcfg,
                                   DraftVocab vocab, Precision precision, TrainingInput<T> input, FeatureOrigin origin)
            throws IOException {
        DraftConfig cfg = DraftConfig.forTarget(tcfg, vocab.size(), input.aux().length);
        TrainSettings s = job.settings();
        long rowsPerUpdate = (long) s.microBatch() * s.accumulation() * group.worldSize();
        long perEpoch = Math.max(1, input.data().rows() / rowsPerUpdate);
        long total = job.maxSteps() > 0 ? job.maxSteps() : perEpoch * job.epochs();
        TrainSettings settings = s.forRun(total, precision);

        boolean rank0 = group.rank() == 0;
        // Closed in reverse: the arrays first, the stop last (only then may a stopping JVM exit).
        try (GracefulStop stop = GracefulStop.install("eaglespark train, rank " + group.rank());
             CheckpointLease lease = rank0 ? CheckpointLease.forRank(job.checkpoints(), conf) : null;
             OutputPublisher export = rank0 ? prepareExport(job, conf) : null;
             NDManager frozen = NDManager.newBaseManager(device)) {
            TargetParts target = TargetParts.load(targetDir, tcfg, frozen);
            Safety safety = new Safety(stop, lease, export,
                    CheckpointCompatibility.of(cfg, vocab, origin, job.sharedHead(), settings.loss()));
            return train(job, group, device, conf, cfg, tcfg, vocab, input, settings, target, frozen, listener,
                    safety);
        }
    }

    /**
     * Checks {@code --export} (no overlap with what the run reads, nothing foreign in it) and
     * stages it; null without an export. The driver calls it too, to refuse before any task starts.
     */
    public static OutputPublisher prepareExport(TrainJob job, Configuration conf) throws IOException {
        if (job.export() == null) {
            return null;
        }
        List<String> reads = new ArrayList<>(java.util.Arrays.asList(job.features(), job.target(), job.vocab(),
                job.checkpoints()));
        if (job.validation() != null) {
            reads.add(job.validation().features());
        }
        if (job.online() != null) {
            reads.addAll(job.online().inputs());
        }
        return OutputPublisher.prepare("train", "--export", job.export(), reads, conf);
    }

    /** The target's frozen pieces the draft needs: embeddings, final norm, lm_head. */
    record TargetParts(NDArray embed, NDArray norm, NDArray lmHead) {
        static TargetParts load(java.nio.file.Path dir, TargetConfig t, NDManager m) {
            try (CheckpointFiles files = CheckpointFiles.open(dir)) {
                WeightLoader w = new WeightLoader(files, m, DataType.FLOAT32);
                NDArray embed = w.load("model.embed_tokens.weight", t.vocabSize(), t.hiddenSize());
                NDArray norm = w.load("model.norm.weight", t.hiddenSize());
                NDArray head = w.has("lm_head.weight") ? w.load("lm_head.weight", t.vocabSize(), t.hiddenSize())
                        : embed;
                return new TargetParts(embed, norm, head);
            }
        }
    }

    private static <T> Summary train(TrainJob job, Collective group, Device device, Configuration conf,
                                     DraftConfig cfg, TargetConfig tcfg, DraftVocab vocab, TrainingInput<T> input,
                                     TrainSettings s, TargetParts target, NDManager frozen, UpdateListener listener,
                                     Safety safety) throws IOException {
        int rank = group.rank();
        int world = group.worldSize();
        long total = s.totalSteps();
        TrainingRejects rejects = input.rejects();
        try (GradientAverager averager = new GradientAverager(group);
             DraftParams params = initialParams(cfg, target, vocab, job.sharedHead(), device, s.seed(), frozen);
             SoftLabels labels = new SoftLabels(target.norm(), target.lmHead(), tcfg.rmsNormEps(), vocab,
                     s.precision().dataType());
             DraftTrainer trainer = new DraftTrainer(params, cfg, labels, s, averager)) {
            Checkpoints ckpts = new Checkpoints(job.checkpoints(), conf);
            CheckpointResume.Resumed resumed = CheckpointResume.load(job.resume(), ckpts, group,
                    params.trainableArrays(), trainer.optimizer(), safety.compatibility(), frozen);
            Path latest = resumed == null ? null : resumed.checkpoint();
            Validation validation = job.validation() == null ? null
                    : Validation.open(job.validation(), s, group, conf);
            // Validation rows are stage-1 features, online too: micro-batches as offline training makes them.
            BatchBuilder validationBatches = new BatchBuilder(tcfg.hiddenSize(), input.aux().length,
                    s.precision().dataType());
            long validateEvery = job.validateEvery();
            BestCheckpoint best = BestCheckpoint.NONE;
            List<ValidationMetrics> validations = new ArrayList<>();
            Checkpoints.DataPosition at = new Checkpoints.DataPosition(0, 0);
            TrainingCurves curves = new TrainingCurves(new Path(job.checkpoints()), conf); // kept by rank 0
            if (latest != null) {
                Checkpoints.State st = resumed.state();
                trainer.restoreState(st.extra());
                best = BestCheckpoint.restore(st.extra());
                if (rank == 0 && !best.isNone()) {
                    ckpts.markBest(new Path(job.checkpoints(), best.checkpoint())); // a crash may have left it behind
                }
                at = positionOf(st, rank, world);
                if (rank == 0) {
                    curves.resumeAt(st.step());
                    if (rejects != null) {
                        rejects.restore(TrainingRejects.fromJson(st.extra().path("rejects")));
                    }
                }
                LOG.info("rank {}: resumed from {} (step {}, epoch {}, position {})", rank, latest, st.step(),
                        at.epoch(), at.position());
            }
            RankShard<T> shard = new RankShard<>(input.data(), s.seed(), rank, world, at);
            if (rank == 0) {
                LOG.info("training in {} on {} from {}{}, loss mask {}", s.precision(), device, job.input(),
                        trainer.lossScaler().isDynamic()
                                ? String.format(", loss scale %.0f", trainer.lossScaler().scale()) : "", s.lossMask());
                if (validation != null) {
                    LOG.info("validation: {} rows of {}, {}", validation.rows(), job.validation().features(),
                            validateEvery > 0 ? "every " + validateEvery + " updates and at the end" : "at the end");
                }
            }
            String last = latest == null ? null : latest.toString();
            List<StepMetrics> metrics = new ArrayList<>();
            TrainingProgress progress = new TrainingProgress(trainer.optimizer().steps(), total);
            while (trainer.optimizer().steps() < total) {
                if (safety.stop().requested()) {
                    throw new GracefulStop.StoppedException("rank " + rank + ": stopped by JVM shutdown (SIGTERM)"
                            + " before update " + (trainer.optimizer().steps() + 1) + "; newest committed checkpoint "
                            + last + " (continue with --resume)");
                }
                List<DraftTrainer.MicroBatch> micro = new ArrayList<>();
                for (int a = 0; a < s.accumulation(); a++) {
                    micro.add(input.batch(shard.next(s.microBatch())));
                }
                StepMetrics m = trainer.update(micro);
                input.afterUpdate();
                metrics.add(m);
                if (rank == 0) {
                    curves.add(m);
                    LOG.info("{}/{} {} {}", m.step(), total, m.format(), progress.after(m));
                }
                listener.afterUpdate(m);
                boolean end = trainer.optimizer().steps() >= total;
                boolean validate = validation != null && (end || (validateEvery > 0 && m.step() % validateEvery == 0));
                ValidationMetrics v = validate
                        ? validation.run(trainer, validationBatches, m.step(), s.tttLength()) : null;
                boolean improved = v != null && best.improvedBy(v);
                if (v != null) {
                    validations.add(v);
                    if (improved) {
                        best = BestCheckpoint.of(v, Checkpoints.stepDir(m.step()));
                    }
                    if (rank == 0) {
                        curves.addValidation(v);
                        LOG.info("{}; best {}", v.format(), best.format());
                    }
                }
                // A validated update is also a checkpoint, so the best one can be exported.
                if (end || validate || (job.checkpointEvery() > 0 && m.step() % job.checkpointEvery() == 0)) {
                    List<Checkpoints.DataPosition> ranks = gatherPositions(group, shard.position());
                    ObjectNode extra = JSON.createObjectNode().put("seed", s.seed()).put("world", world)
                            .put("loss", s.loss().name()).put("precision", s.precision().toString())
                            .put("loss_mask", s.lossMask().toString());
                    input.describe(extra);
                    if (rejects != null) {
                        // Every rank's rejects are on file before rank 0 commits the checkpoint.
                        rejects.write(job.checkpoints(), rank, m.step(), conf);
                        RejectCounts counts = rejects.total(group);
                        extra.set("rejects", TrainingRejects.toJson(counts));
                        if (rank == 0) {
                            LOG.info("rejects so far: {}", counts);
                        }
                    }
                    if (rank == 0) {
                        trainer.saveState(extra);
                        if (v != null) {
                            extra.set("validation", v.toJson());
                        }
                        best.save(extra);
                        safety.compatibility().record(extra);
                        safety.lease().verify();
                        // the curve's rows first: a stop between the two then resumes from the
                        // previous checkpoint, which keeps exactly its rows; the other order lost them
                        curves.write();
                        Path saved = ckpts.save(new Checkpoints.State(m.step(), ranks, extra), params.trainableArrays(),
                                trainer.optimizer());
                        last = saved.toString();
                        if (improved) {
                            ckpts.markBest(saved);
                        }
                    }
                }
            }
            long skipped = trainer.skippedUpdates();
            if (!metrics.isEmpty() && skipped == metrics.size()) {
                throw new IOException("all " + skipped + " updates of this run were skipped: their loss or gradients"
                        + " were not finite (features with inf or NaN?); nothing exported");
            }
            if (skipped > 0 && rank == 0) {
                LOG.warn("{} of {} updates of this run were skipped (loss or gradients not finite)", skipped,
                        metrics.size());
            }
            if (rank == 0) {
                curves.writePlot();
                if (safety.export() != null) {
                    exportBestOrLast(job, ckpts, best, trainer.optimizer().steps(), params, frozen);
                    DraftExport.write(safety.export().staging().toString(), conf, cfg, params.all(), vocab,
                            input.aux(), tcfg.numLayers(), job.engine());
                    safety.export().publish();
                }
            }
            return new Summary(trainer.optimizer().steps(), metrics, last, skipped, validations, best);
        }
    }

    /**
     * With a validation split the export is the best checkpoint (loaded into the weights, which
     * training no longer needs) unless the job asks for the last weights; says which in the log.
     */
    private static void exportBestOrLast(TrainJob job, Checkpoints ckpts, BestCheckpoint best, long lastStep,
                                         DraftParams params, NDManager frozen) throws IOException {
        if (job.validation() == null || best.isNone()) {
            return;
        }
        if (job.validation().exportLast()) {
            LOG.info("exporting the last weights (step {}), as asked; the best by validation is {}", lastStep,
                    best.format());
            return;
        }
        if (best.step() != lastStep) {
            try (NDManager scratch = frozen.newSubManager()) {
                ckpts.loadWeights(new Path(job.checkpoints(), best.checkpoint()), params.trainableArrays(), scratch);
            }
        }
        LOG.info("exporting the best checkpoint by validation, {} (the last is step {})", best.format(), lastStep);
    }

    /**
     * This rank's place in the data at the checkpoint. A run resumed with another number of
     * ranks cannot continue the old shards: every rank starts the earliest rank's epoch over.
     */
    private static Checkpoints.DataPosition positionOf(Checkpoints.State st, int rank, int world) {
        if (st.ranks().size() == world) {
            return st.ranks().get(rank);
        }
        int epoch = st.ranks().stream().mapToInt(Checkpoints.DataPosition::epoch).min().orElse(0);
        LOG.warn("checkpoint of step {} was written by {} ranks, this run has {}: rank {} starts epoch {} over",
                st.step(), st.ranks().size(), world, rank, epoch);
        return new Checkpoints.DataPosition(epoch, 0);
    }

    /** Every rank's data position, on every rank (all ranks call this at the same steps). */
    private static List<Checkpoints.DataPosition> gatherPositions(Collective group, Checkpoints.DataPosition mine) {
        long[] slots = new long[2 * group.worldSize()];
        slots[2 * group.rank()] = mine.epoch();
        slots[2 * group.rank() + 1] = mine.position();
        long[] all = group.allReduceSum(slots);
        List<Checkpoints.DataPosition> out = new ArrayList<>();
        for (int r = 0; r < group.worldSize(); r++) {
            out.add(new Checkpoints.DataPosition((int) all[2 * r], all[2 * r + 1]));
        }
        return out;
    }


    /**
     * The draft at the start: fresh layers; the standard head starts from the target's rows of
     * the draft vocabulary, the shared head is the target's own, frozen.
     */
    private static DraftParams initialParams(DraftConfig cfg, TargetParts target, DraftVocab vocab, boolean shared,
                                             Device device, long seed, NDManager frozen) {
        NDArray draftHead = shared ? target.lmHead() : DraftParams.vocabRows(target.lmHead(), vocab, frozen);
        return DraftParams.initialise(cfg, device, seed, target.embed(), draftHead, !shared);
    }

}
