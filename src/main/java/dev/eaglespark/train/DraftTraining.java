package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.Eagle3Draft;
import dev.eaglespark.draft.SoftLabels;
import dev.eaglespark.export.DraftExport;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.io.LocalDirs;
import dev.eaglespark.model.CheckpointFiles;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.WeightLoader;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A training run of one worker (rank of world): builds the draft from the target's frozen
 * parts and the vocabulary, reads its shard of the features in seeded order, updates,
 * checkpoints (rank 0) and resumes. With a gradient reducer that averages across workers the
 * same code is one rank of data-parallel training.
 */
public final class DraftTraining {
    private static final Logger LOG = LogManager.getLogger(DraftTraining.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a run ended with. */
    public record Summary(long steps, List<StepMetrics> metrics, String lastCheckpoint) {}

    private DraftTraining() {}

    public static Summary run(TrainJob job, int rank, int world, Device device, DraftTrainer.GradientReducer reducer,
                              Configuration conf) throws IOException {
        JsonNode manifest = readJson(new Path(job.features(), FeatureManifest.FILE), conf);
        int[] aux = JSON.convertValue(manifest.get("aux_layer_ids"), int[].class);
        java.nio.file.Path targetDir = LocalDirs.localize(job.target(), conf);
        TargetConfig tcfg = TargetConfig.load(targetDir.resolve("config.json"));
        if (manifest.path("target").path("hidden_size").asInt() != tcfg.hiddenSize()) {
            throw new IOException("features in " + job.features() + " were made by a target of hidden size "
                    + manifest.path("target").path("hidden_size") + ", not " + targetDir);
        }
        DraftVocab vocab = job.sharedHead() ? DraftVocab.identity(tcfg.vocabSize()) : readVocab(job.vocab(), conf);
        DraftConfig cfg = DraftConfig.forTarget(tcfg, vocab.size(), aux.length);
        TrainSettings s = job.settings();
        FeatureDataset data = FeatureDataset.open(job.features(), conf).shard(rank, world);
        long rowsPerUpdate = (long) s.microBatch() * s.accumulation();
        long perEpoch = Math.max(1, data.rows() / rowsPerUpdate);
        long total = job.maxSteps() > 0 ? job.maxSteps() : perEpoch * job.epochs();
        TrainSettings settings = new TrainSettings(s.tttLength(), s.stepDecay(), s.loss(), s.lr(), s.minLr(),
                s.warmupSteps(), total, s.weightDecay(), s.clipNorm(), s.microBatch(), s.accumulation(), s.seed());

        try (NDManager frozen = NDManager.newBaseManager(device)) {
            TargetParts target = TargetParts.load(targetDir, tcfg, frozen);
            return train(job, rank, world, device, reducer, conf, cfg, tcfg, vocab, aux, data, settings, total, target,
                    frozen);
        }
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

    private static Summary train(TrainJob job, int rank, int world, Device device,
                                 DraftTrainer.GradientReducer reducer, Configuration conf, DraftConfig cfg,
                                 TargetConfig tcfg, DraftVocab vocab, int[] aux, FeatureDataset data,
                                 TrainSettings settings, long total, TargetParts target, NDManager frozen)
            throws IOException {
        TrainSettings s = settings;
        try (DraftParams params = initialParams(cfg, target, vocab, job.sharedHead(), device, s.seed(), frozen);
             SoftLabels labels = new SoftLabels(target.norm(), target.lmHead(), tcfg.rmsNormEps(), vocab);
             DraftTrainer trainer = new DraftTrainer(params, new Eagle3Draft(cfg, params), labels,
                     new BatchBuilder(tcfg.hiddenSize(), aux.length), settings, reducer)) {
            Checkpoints ckpts = new Checkpoints(job.checkpoints(), conf);
            int epoch = 0;
            long position = 0;
            Path latest = job.resume() ? ckpts.latest() : null;
            if (latest != null) {
                Checkpoints.State st = ckpts.load(latest, trainable(params), trainer.optimizer(), frozen);
                epoch = st.epoch();
                position = st.position();
                LOG.info("rank {}: resumed from {} (step {}, epoch {}, position {})", rank, latest, st.step(), epoch,
                        position);
            }
            List<StepMetrics> metrics = new ArrayList<>();
            String last = latest == null ? null : latest.toString();
            Iterator<FeatureRecord> rows = data.epoch(s.seed(), epoch, position);
            while (trainer.optimizer().steps() < total) {
                List<List<FeatureRecord>> micro = new ArrayList<>();
                for (int a = 0; a < s.accumulation(); a++) {
                    List<FeatureRecord> mb = new ArrayList<>();
                    while (mb.size() < s.microBatch()) {
                        if (!rows.hasNext()) {
                            epoch++;
                            position = 0;
                            rows = data.epoch(s.seed(), epoch, 0);
                            if (!rows.hasNext()) {
                                throw new IOException("rank " + rank + " has no feature rows to train on");
                            }
                        }
                        mb.add(rows.next());
                        position++;
                    }
                    micro.add(mb);
                }
                StepMetrics m = trainer.step(micro);
                metrics.add(m);
                if (rank == 0) {
                    LOG.info("{}/{} {}", m.step(), total, m.format());
                }
                boolean end = trainer.optimizer().steps() >= total;
                if (rank == 0 && (end || (job.checkpointEvery() > 0 && m.step() % job.checkpointEvery() == 0))) {
                    ObjectNode extra = JSON.createObjectNode().put("seed", s.seed()).put("world", world)
                            .put("loss", s.loss().name()).put("features", job.features());
                    last = ckpts.save(new Checkpoints.State(m.step(), epoch, position, extra), trainable(params),
                            trainer.optimizer()).toString();
                    MetricsFile.write(new Path(job.checkpoints(), "metrics.csv"), metrics, conf, latest != null);
                }
            }
            if (rank == 0 && job.export() != null) {
                DraftExport.write(job.export(), conf, cfg, params.all(), vocab, aux, tcfg.numLayers(), job.engine());
            }
            return new Summary(trainer.optimizer().steps(), metrics, last);
        }
    }

    private static Map<String, NDArray> trainable(DraftParams params) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        params.trainable().forEach(n -> out.put(n, params.get(n)));
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

    static DraftVocab readVocab(String file, Configuration conf) throws IOException {
        if (file == null) {
            throw new IOException("a standard draft needs --vocab (the vocab stage's vocab.safetensors)");
        }
        Path p = new Path(file);
        java.nio.file.Path local = Files.createTempFile("eaglespark-vocab", ".safetensors");
        try {
            p.getFileSystem(conf).copyToLocalFile(false, p, new Path(local.toUri()), true);
            try (SafeTensorsFile f = SafeTensorsFile.open(local)) {
                return DraftVocab.fromTensors(f.readLongs("t2d"), f.readLongs("d2t"), f.readLongs("token_counts"));
            }
        } finally {
            Files.deleteIfExists(local);
        }
    }

    private static JsonNode readJson(Path p, Configuration conf) throws IOException {
        try (InputStream in = p.getFileSystem(conf).open(p)) {
            return JSON.readTree(in);
        }
    }

    /** Training curves as CSV next to the checkpoints (rewritten whole: S3 has no append). */
    static final class MetricsFile {
        private MetricsFile() {}

        static void write(Path file, List<StepMetrics> metrics, Configuration conf, boolean resumed)
                throws IOException {
            StringBuilder sb = new StringBuilder("step,loss,grad_norm,lr,tokens,seconds");
            int k = metrics.isEmpty() ? 0 : metrics.get(0).stepLoss().length;
            for (int i = 0; i < k; i++) {
                sb.append(",loss_").append(i).append(",acc_").append(i);
            }
            sb.append('\n');
            for (StepMetrics m : metrics) {
                sb.append(m.step()).append(',').append(m.loss()).append(',').append(m.gradNorm()).append(',')
                        .append(m.lr()).append(',').append(m.tokens()).append(',').append(m.seconds());
                for (int i = 0; i < k; i++) {
                    sb.append(',').append(m.stepLoss()[i]).append(',').append(m.stepAcc()[i]);
                }
                sb.append('\n');
            }
            Path target = resumed ? new Path(file.getParent(), "metrics-resumed-" + metrics.get(0).step() + ".csv")
                    : file;
            try (OutputStream os = target.getFileSystem(conf).create(target, true)) {
                os.write(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        }
    }
}
