package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.collective.LocalCollective;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureTable;
import dev.eaglespark.spark.VocabJob;
import dev.eaglespark.testutil.HadoopFiles;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints under operator mistakes, on stories15M features: a resume with another
 * vocabulary, draft config, target or loss is refused naming both sides; a second run on a
 * directory another run holds is refused; a committed checkpoint is never overwritten; an
 * unreadable newest checkpoint is reported by its path and the previous one used; a run whose
 * every update was skipped (non-finite features) fails and exports nothing.
 */
class CheckpointSafetyTest {
    @TempDir
    static Path tmp;
    private static Path model;
    private static String features;
    /** Features whose aux states are all +inf (every update non-finite), and with one such row. */
    private static String infinite;
    private static String oneInfinite;
    private static String vocab300;
    private static String vocab100;
    private static final Configuration CONF = new Configuration();

    @BeforeAll
    static void makeFeatures() throws Exception {
        model = Stories15M.ensure();
        features = TrainingRuns.sampleFeatures(tmp, 8, 1, (spark, f) -> {
            VocabJob.run(spark, f, tmp.resolve("vocab300").toString(), 300);
            VocabJob.run(spark, f, tmp.resolve("vocab100").toString(), 100);
            infinite = poisoned(spark, f, "infinite", "true");
            String id = FeatureTable.ID.name();
            String first = spark.read().parquet(f).select(id).orderBy(id).first().getString(0);
            oneInfinite = poisoned(spark, f, "one-infinite", id + " = '" + first + "'");
        });
        vocab300 = tmp.resolve("vocab300/" + DraftVocab.FILE).toString();
        vocab100 = tmp.resolve("vocab100/" + DraftVocab.FILE).toString();
    }

    /** A copy of the features with the aux states of the rows matching {@code where} set to +inf (fp16). */
    private static String poisoned(SparkSession spark, String features, String name, String where)
            throws IOException {
        spark.udf().register("inf_where", (UDF2<byte[], Boolean, byte[]>) (b, hit) -> {
            if (!hit) {
                return b;
            }
            byte[] out = new byte[b.length];
            for (int i = 0; i < out.length; i += 2) {
                out[i + 1] = 0x7C; // fp16 +inf, little-endian
            }
            return out;
        }, DataTypes.BinaryType);
        Dataset<Row> rows = spark.read().parquet(features);
        Path dir = tmp.resolve(name);
        String aux = FeatureTable.AUX_HIDDEN.name();
        rows.withColumn(aux, functions.callUDF("inf_where", functions.col(aux),
                functions.expr(where))).coalesce(1).write().option("parquet.block.size", "1").parquet(dir.toString());
        Files.copy(Path.of(features, FeatureManifest.FILE), dir.resolve(FeatureManifest.FILE));
        return dir.toString();
    }

    private static TrainJob job(String feats, String target, String vocab, String ck, long steps, boolean resume,
                                LossType loss, String export) {
        TrainSettings s = TrainSettings.builder().tttLength(7).loss(loss).lr(2e-3).minLr(1e-4).warmupSteps(1).seed(5)
                .build();
        return new TrainJob(feats, target, vocab, false, ck, 1, steps, 1, resume, export, ServingEngine.SGLANG, s);
    }

    private static DraftTraining.Summary run(TrainJob job) throws IOException {
        return DraftTraining.run(job, new LocalCollective(), Device.cpu(), CONF);
    }

    @Test
    void aResumeOfAnotherKindOfRunIsRefusedNamingBothSides() throws Exception {
        String ck = tmp.resolve("ck-kind").toString();
        run(job(features, model.toString(), vocab300, ck, 1, false, LossType.FORWARD_KL, null));

        var vocab = assertThrows(CheckpointCompatibility.MismatchException.class,
                () -> run(job(features, model.toString(), vocab100, ck, 2, true, LossType.FORWARD_KL, null)));
        assertTrue(vocab.getMessage().contains("vocabulary.draft_size: checkpoint 300, this run 100"),
                vocab.getMessage());
        assertTrue(vocab.getMessage().contains("step-00000001"), vocab.getMessage());

        var loss = assertThrows(CheckpointCompatibility.MismatchException.class,
                () -> run(job(features, model.toString(), vocab300, ck, 2, true, LossType.REVERSE_KL, null)));
        assertTrue(loss.getMessage().contains("loss: checkpoint \"FORWARD_KL\", this run \"REVERSE_KL\""),
                loss.getMessage());

        // The same shapes from a target whose config differs (its norm epsilon): another draft config
        // (the features' target check let through, as --allow-target-mismatch does).
        Path other = TrainingRuns.otherNormEpsilon(tmp.resolve("other-target"));
        var draft = assertThrows(CheckpointCompatibility.MismatchException.class,
                () -> run(job(features, other.toString(), vocab300, ck, 2, true, LossType.FORWARD_KL, null)
                        .allowingTargetMismatch()));
        assertTrue(draft.getMessage().contains("draft_config.rmsNormEps"), draft.getMessage());

        // Features made by another target (its config hash in their manifest).
        Path otherFeatures = tmp.resolve("features-other-target");
        HadoopFiles.copy(features, otherFeatures.toString(), CONF);
        Path manifest = otherFeatures.resolve(FeatureManifest.FILE);
        ObjectNode m = (ObjectNode) new ObjectMapper().readTree(manifest.toFile());
        ((ObjectNode) m.get("target")).put("config_sha256", "0".repeat(64));
        Files.write(manifest, new ObjectMapper().writeValueAsBytes(m));
        Files.deleteIfExists(otherFeatures.resolve("._manifest.json.crc"));
        var target = assertThrows(CheckpointCompatibility.MismatchException.class,
                () -> run(job(otherFeatures.toString(), model.toString(), vocab300, ck, 2, true, LossType.FORWARD_KL,
                        null).allowingTargetMismatch()));
        assertTrue(target.getMessage().contains("target.config_sha256: checkpoint \"")
                && target.getMessage().contains("this run \"" + "0".repeat(64)), target.getMessage());

        // Nothing was written by the refused runs; the right settings resume.
        assertEquals(List.of("step-00000001"), stepDirs(ck));
        assertEquals(1, run(job(features, model.toString(), vocab300, ck, 2, true, LossType.FORWARD_KL, null))
                .metrics().size());
    }

    @Test
    void everyTensorShapeIsChecked() throws Exception {
        String ck = tmp.resolve("ck-shapes").toString();
        Checkpoints ckpts = new Checkpoints(ck, CONF);
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); AdamW opt = new AdamW(m, 0.9, 0.95, 1e-8, 0)) {
            ckpts.save(new Checkpoints.State(1, List.of(new Checkpoints.DataPosition(0, 1)),
                    new ObjectMapper().createObjectNode()), Map.of("lm_head.weight", m.zeros(new Shape(4000, 8))), opt);
            NDArray small = m.zeros(new Shape(100, 8));
            var e = assertThrows(CheckpointCompatibility.MismatchException.class,
                    () -> ckpts.load(ckpts.latest(), Map.of("lm_head.weight", small), opt, m));
            assertTrue(e.getMessage().contains("lm_head.weight: checkpoint (4000, 8), this run (100, 8)"),
                    e.getMessage());
            assertEquals(0, small.sum().getFloat(), "nothing loaded");
        }
    }

    @Test
    void aSecondRunOnAHeldDirectoryIsRefusedAndACommittedStepNeverOverwritten() throws Exception {
        String ck = tmp.resolve("ck-lease").toString();
        try (CheckpointLease held = CheckpointLease.acquire(ck, "application_1_0001", "1", CONF)) {
            IOException e = assertThrows(IOException.class,
                    () -> run(job(features, model.toString(), vocab300, ck, 1, false, LossType.FORWARD_KL, null)));
            assertTrue(e.getMessage().contains("in use by run application_1_0001")
                    && e.getMessage().contains("delete " + Path.of(ck).toUri().getPath().replaceAll("/$", "")
                    + "/_LEASE"), e.getMessage());
            // A later attempt of the same run takes it over.
            CheckpointLease.acquire(ck, "application_1_0001", "2", CONF).verify();
            held.verify();
        }
        assertFalse(Files.exists(Path.of(ck, CheckpointLease.FILE)), "released");
        assertTrue(stepDirs(ck).isEmpty(), "the refused run wrote nothing");

        run(job(features, model.toString(), vocab300, ck, 1, false, LossType.FORWARD_KL, null));
        Checkpoints ckpts = new Checkpoints(ck, CONF);
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); AdamW opt = new AdamW(m, 0.9, 0.95, 1e-8, 0)) {
            IOException e = assertThrows(IOException.class, () -> ckpts.save(new Checkpoints.State(1,
                    List.of(new Checkpoints.DataPosition(0, 1)), new ObjectMapper().createObjectNode()),
                    Map.of("w", m.zeros(new Shape(2))), opt));
            assertTrue(e.getMessage().contains("refusing to overwrite the committed checkpoint"), e.getMessage());
        }
        assertTrue(Files.size(Path.of(ck, "step-00000001", "model.safetensors")) > 1000, "left as it was");
    }

    @Test
    void anUnreadableNewestCheckpointIsNamedAndThePreviousOneUsed() throws Exception {
        String ck = tmp.resolve("ck-corrupt").toString();
        run(job(features, model.toString(), vocab300, ck, 2, false, LossType.FORWARD_KL, null));
        Path newest = Path.of(ck, "step-00000002", "model.safetensors");
        Files.write(newest, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Files.deleteIfExists(newest.resolveSibling(".model.safetensors.crc"));

        Checkpoints ckpts = new Checkpoints(ck, CONF);
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); AdamW opt = new AdamW(m, 0.9, 0.95, 1e-8, 0)) {
            IOException e = assertThrows(IOException.class,
                    () -> ckpts.load(ckpts.latest(), Map.of("w", m.zeros(new Shape(2))), opt, m));
            assertTrue(e.getMessage().startsWith(newest.toUri().toString().replace("file:///", "file:/")
                    + " cannot be read"), e.getMessage());
            assertFalse(e.getMessage().contains("eaglespark-ckpt"), "not the local copy: " + e.getMessage());
        }

        DraftTraining.Summary resumed = run(job(features, model.toString(), vocab300, ck, 3, true,
                LossType.FORWARD_KL, null));
        assertEquals(2, resumed.metrics().size(), "resumed from step 1: updates 2 and 3");
        assertEquals(List.of("step-00000001", "step-00000002", "step-00000003"), stepDirs(ck));
        try (var dirs = Files.list(Path.of(ck))) {
            assertEquals(1, dirs.filter(d -> d.getFileName().toString().startsWith("step-00000002.unreadable-"))
                    .count(), "the unreadable checkpoint is kept aside");
        }
    }

    @Test
    void aRunWhoseEveryUpdateWasSkippedFailsAndExportsNothing() throws Exception {
        Path export = tmp.resolve("export-skipped");
        IOException e = assertThrows(IOException.class, () -> run(job(infinite, model.toString(), vocab300,
                tmp.resolve("ck-skipped").toString(), 3, false, LossType.FORWARD_KL, export.toString())));
        assertTrue(e.getMessage().contains("all 3 updates of this run were skipped"), e.getMessage());
        assertFalse(Files.exists(export), "nothing exported");
        try (var siblings = Files.list(tmp)) {
            assertEquals(List.of(), siblings.filter(p -> p.getFileName().toString().startsWith(".export-skipped"))
                    .toList(), "no staging left behind");
        }

        // One bad row, one row per update, one epoch: one update skipped, counted.
        long rows = FeatureDataset.open(oneInfinite, CONF).rows();
        DraftTraining.Summary s = run(job(oneInfinite, model.toString(), vocab300,
                tmp.resolve("ck-one-skipped").toString(), rows, false, LossType.FORWARD_KL, null));
        assertEquals(1, s.skipped());
        assertEquals(rows, s.metrics().size());
    }

    private static List<String> stepDirs(String ck) throws IOException {
        try (var dirs = Files.list(Path.of(ck))) {
            return dirs.map(d -> d.getFileName().toString()).filter(n -> n.matches("step-\\d{8}")).sorted().toList();
        }
    }
}
