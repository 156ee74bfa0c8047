package dev.eaglespark.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.draft.ExportedDraft;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.FeatureTable;
import dev.eaglespark.io.CacheDir;
import dev.eaglespark.io.FileTrees;
import dev.eaglespark.io.LocalDirs;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.spark.FeaturesJob;
import dev.eaglespark.spark.VocabJob;
import dev.eaglespark.testutil.HadoopFiles;
import dev.eaglespark.testutil.RemoteStore;
import dev.eaglespark.testutil.TestData;
import dev.eaglespark.train.AdamW;
import dev.eaglespark.train.Checkpoints;
import dev.eaglespark.train.TrainingRuns;
import dev.eaglespark.vocab.DraftVocab;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The project's real outputs on a file system reached through Hadoop URIs, as users give
 * them: model, input, features, vocabulary, checkpoints and export all live on the store;
 * results must equal a run on local files. One store and one Spark session per subclass.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RemoteStorageScenarios {
    /** Conversations of the ShareGPT sample used (few: the target runs on the CPU). */
    private static final int SAMPLES = 12;
    /** Two lines every run rejects, so that {@code _rejects/} has something to hold. */
    private static final String BAD_LINES = "{\"id\": \"bad-json\", \"conversations\": [\n"
            + "{\"id\": \"one-sided\", \"conversations\": [{\"from\": \"human\", \"value\": \"Hello?\"}]}\n";

    private Path tmp;
    private RemoteStore store;
    private Configuration conf;
    private SparkSession spark;
    private Path localModel;
    private String root;
    private String model;
    private FeaturesJob.Summary remoteSummary;
    private TrainingRuns runs;

    /** Starts the store; its files go under {@code dir} where it keeps any. */
    abstract RemoteStore startStore(Path dir) throws Exception;

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        store = startStore(Files.createDirectories(tmp.resolve("store")));
        conf = store.conf();
        root = store.root();
        SparkSession.Builder b = SparkSession.builder().master("local[2]").appName(getClass().getSimpleName())
                .config("spark.ui.enabled", "false");
        store.settings().forEach((k, v) -> b.config("spark.hadoop." + k, v));
        spark = b.getOrCreate();
        localModel = Stories15M.ensure();
        model = root + "/models/stories15M";
        HadoopFiles.copy(localModel.toString(), model, conf);
        Path data = Files.createDirectories(tmp.resolve("data"));
        try (var lines = Files.lines(TestData.path("sharegpt_sample.jsonl"))) {
            Files.write(data.resolve("sharegpt.jsonl"), lines.limit(SAMPLES).toList());
        }
        Files.writeString(data.resolve("bad.jsonl"), BAD_LINES);
        HadoopFiles.copy(data.toString(), root + "/data", conf);

        remoteSummary = FeaturesJob.run(spark, settings(model), List.of(root + "/data/*.jsonl"), root + "/features",
                2, 64L << 20);
        VocabJob.run(spark, root + "/features", root + "/vocab", 500);
        runs = new TrainingRuns(root + "/features", model, root + "/vocab/" + DraftVocab.FILE, conf);
    }

    @AfterAll
    void tearDown() throws Exception {
        try {
            if (spark != null) {
                spark.stop();
            }
            // The local copy LocalDirs made of the store's model directory (keyed by its URI).
            Path copy = remoteSummary == null ? null : LocalDirs.localize(model, conf);
            if (copy != null && copy.startsWith(CacheDir.root())) {
                FileTrees.delete(copy);
            }
        } finally {
            if (store != null) {
                store.close();
            }
        }
    }

    private static FeatureSettings settings(String modelDir) {
        return new FeatureSettings(modelDir, null, 256, TruncationPolicy.TRUNCATE, null, 2048, 32);
    }

    @Test
    void featuresOutputEqualsALocalRun() throws Exception {
        Path local = tmp.resolve("local-features");
        FeaturesJob.Summary expected = FeaturesJob.run(spark, settings(localModel.toString()),
                List.of(tmp.resolve("data") + "/*.jsonl"), local.toString(), 2, 64L << 20);
        assertEquals(SAMPLES, expected.rows());
        assertEquals(Map.of("malformed_json", 1L, "one_sided", 1L), expected.rejects());
        assertEquals(expected.rows(), remoteSummary.rows());
        assertEquals(expected.tokens(), remoteSummary.tokens());
        assertEquals(expected.maskedTokens(), remoteSummary.maskedTokens());
        assertEquals(expected.rejects(), remoteSummary.rejects());

        String out = OutputPublisher.current(root + "/features", conf); // on S3 the published version
        String id = FeatureTable.ID.name();
        String tokens = FeatureTable.NUM_TOKENS.name();
        List<Row> rows = spark.read().parquet(out).select(id, tokens).collectAsList();
        List<Row> localRows = spark.read().parquet(local.toString()).select(id, tokens).collectAsList();
        assertEquals(idsAndLengths(localRows), idsAndLengths(rows), "the same rows read back");

        FeatureManifest manifest = FeatureManifest.read(root + "/features", conf);
        FeatureManifest localManifest = FeatureManifest.read(local.toString(), new Configuration());
        assertEquals(localManifest.counts(), manifest.counts());
        assertEquals(localManifest.target().configSha256(), manifest.target().configSha256());

        long rejectLines = 0;
        for (String name : HadoopFiles.list(out + "/_rejects", conf)) {
            rejectLines += new String(HadoopFiles.read(out + "/_rejects/" + name, conf), StandardCharsets.UTF_8)
                    .lines().count();
        }
        assertEquals(2, rejectLines, "one line per rejected record");
        List<String> names = HadoopFiles.list(out, conf);
        assertTrue(names.contains("_SUCCESS"), "the job committed: " + names);
        assertFalse(names.contains("_temporary"), "the commit cleaned up: " + names);
    }

    private static Set<String> idsAndLengths(List<Row> rows) {
        return rows.stream().map(r -> r.getString(0) + ":" + r.getInt(1)).collect(Collectors.toSet());
    }

    @Test
    void aModelDirectoryOnTheStoreIsCopiedLocally() throws Exception {
        Path copy = LocalDirs.localize(model, conf);
        assertTrue(copy.startsWith(CacheDir.root()), copy.toString());
        try (var files = Files.list(localModel)) {
            for (Path f : files.toList()) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(copy.resolve(f.getFileName())),
                        f.getFileName().toString());
            }
        }
    }

    @Test
    void anUncommittedCheckpointIsIgnoredAndOverwritten() throws Exception {
        String dir = root + "/ck-marker";
        Checkpoints ckpts = new Checkpoints(dir, conf);
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); AdamW opt = new AdamW(m, 0.9, 0.95, 1e-8, 0)) {
            JsonNode extra = new ObjectMapper().createObjectNode();
            ckpts.save(new Checkpoints.State(1, List.of(new Checkpoints.DataPosition(0, 4)), extra), Map.of("w", m.create(new float[] {1, 2})), opt);
            // A crash while step 2 was written: some of its files, no marker.
            String step2 = dir + "/" + TrainingRuns.stepDir(2);
            HadoopFiles.write(step2 + "/model.safetensors", "partial".getBytes(StandardCharsets.UTF_8), conf);
            HadoopFiles.write(step2 + "/state.json", "{}".getBytes(StandardCharsets.UTF_8), conf);
            assertEquals(TrainingRuns.stepDir(1), ckpts.latest().getName(), "the uncommitted step 2 is ignored");

            ckpts.save(new Checkpoints.State(2, List.of(new Checkpoints.DataPosition(0, 8)), extra), Map.of("w", m.create(new float[] {3, 4})), opt);
            assertEquals(TrainingRuns.stepDir(2), ckpts.latest().getName());
            NDArray w = m.zeros(new Shape(2));
            Checkpoints.State st = ckpts.load(ckpts.latest(), Map.of("w", w), opt, m);
            assertEquals(8, st.ranks().get(0).position());
            assertArrayEquals(new float[] {3, 4}, w.toFloatArray(), "the partial files were replaced");
        }
        assertNull(new Checkpoints(root + "/ck-none", conf).latest());
    }

    /**
     * Outputs on the store are replaced only by a complete run of their own stage: a rerun
     * replaces (on S3 a new version, the old one deleted once the pointer moved), a rerun that
     * fails mid-job leaves the previous output, a directory with foreign files is refused.
     */
    @Test
    void anOutputIsReplacedOnlyByACompleteRunOfItsStage() throws Exception {
        String vocab = root + "/vocab-rerun";
        VocabJob.run(spark, root + "/features", vocab, 100);
        String first = OutputPublisher.current(vocab, conf);
        VocabJob.run(spark, root + "/features", vocab, 200);
        String second = OutputPublisher.current(vocab, conf);
        JsonNode summary = new ObjectMapper().readTree(HadoopFiles.read(second + "/" + VocabJob.SUMMARY, conf));
        assertEquals(200, summary.get("draft_vocab_size").asInt());
        if (!first.equals(second)) { // versioned: the previous version is gone, only the pointer and one version remain
            assertEquals(2, HadoopFiles.list(vocab, conf).size(), HadoopFiles.list(vocab, conf).toString());
        }

        String features = root + "/features";
        String published = OutputPublisher.current(features, conf);
        List<String> before = HadoopFiles.list(published, conf);
        spark.conf().set(FeaturesJob.FAIL_ONCE_CONF, "1"); // split 0 is bad.jsonl, which yields no row
        try {
            assertThrows(Exception.class, () -> FeaturesJob.run(spark, settings(model),
                    List.of(root + "/data/*.jsonl"), features, 2, 64L << 20));
        } finally {
            spark.conf().unset(FeaturesJob.FAIL_ONCE_CONF);
        }
        assertEquals(published, OutputPublisher.current(features, conf));
        assertEquals(before, HadoopFiles.list(published, conf), "the previous output is whole");
        assertEquals(SAMPLES, spark.read().parquet(published).count());

        HadoopFiles.write(root + "/mixed/notes.txt", "mine".getBytes(StandardCharsets.UTF_8), conf);
        Exception e = assertThrows(Exception.class, () -> VocabJob.run(spark, features, root + "/mixed", 10));
        assertTrue(e.getMessage().contains("notes.txt"), e.getMessage());
        assertEquals("mine", new String(HadoopFiles.read(root + "/mixed/notes.txt", conf), StandardCharsets.UTF_8));
    }

    /** Training with checkpoints and export on the store: a resumed run ends where a straight one does. */
    @Test
    void checkpointsResumeExactlyAndTheExportReadsBack() throws Exception {
        String remote = root + "/export";
        Path local = tmp.resolve("export");
        // The straight run exports to the store, the resumed one locally: equal weights, equal files.
        runs.assertResumeIsExact(root + "/ck-straight", root + "/ck-crashed", 1, remote, local.toString());
        for (String name : List.of("config.json", "model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(local.resolve(name)),
                    HadoopFiles.read(OutputPublisher.currentFile(remote + "/" + name, conf), conf), name);
        }
        Path copy = LocalDirs.localize(remote, conf);
        // The embedding comes from the target at serving time, not from the export: any stands in.
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             ExportedDraft a = ExportedDraft.load(local, m.zeros(new Shape(1)), Device.cpu());
             ExportedDraft b = ExportedDraft.load(copy, m.zeros(new Shape(1)), Device.cpu())) {
            assertEquals(a.config(), b.config());
            assertArrayEquals(a.auxIndices(), b.auxIndices());
            assertArrayEquals(a.vocab().d2t(), b.vocab().d2t());
        } finally {
            FileTrees.delete(copy);
        }
    }
}
