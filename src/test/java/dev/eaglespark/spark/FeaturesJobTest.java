package dev.eaglespark.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.FeatureTable;
import dev.eaglespark.model.ForwardRequest;
import dev.eaglespark.model.ForwardResult;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.tensors.Fp16;
import dev.eaglespark.testutil.TestData;
import dev.eaglespark.train.FeatureDataset;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stage 1 and the vocab stage on Spark local mode, on stories15M and the real ShareGPT sample. */
class FeaturesJobTest {
    private static SparkSession spark;
    private static Path modelDir;
    private static final int[] AUX = {1, 3, 4};

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        modelDir = Stories15M.ensure();
        // local[2, 2]: two task threads, a failed task is retried once.
        spark = SparkSession.builder().master("local[2,2]").appName("features-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static FeatureSettings settings() {
        return new FeatureSettings(modelDir.toString(), AUX, 256, TruncationPolicy.TRUNCATE, null, 1024, 16);
    }

    @Test
    void featuresMatchADirectForwardPassAndCarryTheirFacts() throws Exception {
        String out = tmp.resolve("features").toString();
        FeaturesJob.Summary s = FeaturesJob.run(spark, settings(),
                List.of(TestData.path("sharegpt_sample.jsonl").toString()), out, 3, 64L << 20);
        List<Row> rows = spark.read().parquet(out).collectAsList();
        assertEquals(40, rows.size(), "every sample conversation becomes a row");
        assertEquals(40, s.rows());
        assertEquals(rows.stream().mapToLong(r -> r.getInt(5)).sum(), s.tokens());

        try (TargetModel model = TargetModel.load(modelDir, Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            int h = model.config().hiddenSize();
            for (Row r : rows.subList(0, 8)) {
                long[] ids = r.<Integer>getList(1).stream().mapToLong(Integer::longValue).toArray();
                assertTrue(ids.length <= 256);
                byte[] mask = (byte[]) r.get(2);
                assertEquals(ids.length, mask.length);
                ForwardResult ref = model.forward(m, List.of(ids), ForwardRequest.features(AUX));
                float[] aux = halfs((byte[]) r.get(3));
                float[] last = halfs((byte[]) r.get(4));
                assertEquals(ids.length * 3 * h, aux.length);
                for (int k = 0; k < AUX.length; k++) {
                    float[] expected = ref.hidden().get(AUX[k]).toFloatArray();
                    for (int t = 0; t < ids.length; t++) {
                        for (int j = 0; j < h; j++) {
                            assertHalfOf(expected[t * h + j], aux[t * 3 * h + k * h + j], r.getString(0));
                        }
                    }
                }
                float[] expectedLast = ref.lastHidden().toFloatArray();
                for (int i = 0; i < expectedLast.length; i++) {
                    assertHalfOf(expectedLast[i], last[i], r.getString(0));
                }
            }
        }

        JsonNode manifest = new ObjectMapper().readTree(Path.of(out, "_manifest.json").toFile());
        assertEquals("[1,3,4]", manifest.get("aux_layer_ids").toString());
        assertEquals(288, manifest.path("target").path("hidden_size").asInt());
        assertEquals("float16", manifest.get("dtype").asText());
        assertEquals(40, manifest.path("counts").path("rows").asLong());
        assertEquals(64, manifest.path("target").path("config_sha256").asText().length());
        assertEquals("model", manifest.path("template").path("source").asText());
        // Read back typed, as the train and vocab stages read it.
        FeatureManifest typed = FeatureManifest.read(out, new Configuration());
        assertArrayEquals(AUX, typed.auxLayerIds());
        assertEquals(288, typed.target().hiddenSize());
        assertEquals(manifest.path("target").path("tokenizer_sha256").asText(), typed.target().tokenizerSha256());
        assertEquals(manifest.path("template").path("sha256").asText(), typed.template().sha256());
        assertEquals(new FeatureManifest.Counts(40, s.tokens(), s.maskedTokens(), s.featureBytes(), 0),
                typed.counts());

        // A standard Parquet reader (Apache parquet-hadoop) opens every file: zstd, the documented schema.
        try (var files = Files.list(Path.of(out))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".parquet")).toList()) {
                try (ParquetFileReader reader = ParquetFileReader.open(
                        HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(f.toString()), new Configuration()))) {
                    var schema = reader.getFooter().getFileMetaData().getSchema();
                    assertEquals(List.of("id", "input_ids", "loss_mask", "aux_hidden", "last_hidden", "num_tokens",
                            "num_masked"), schema.getFields().stream().map(x -> x.getName()).toList());
                    // What Spark wrote is the schema the table declares (plain readers rely on it).
                    assertEquals(FeatureTable.PARQUET_SCHEMA, schema);
                    reader.getFooter().getBlocks().forEach(b -> b.getColumns().forEach(c ->
                            assertEquals("ZSTD", c.getCodec().name())));
                }
            }
        }

        DraftVocab vocab = VocabJob.run(spark, out, tmp.resolve("vocab").toString(), 500);
        assertEquals(500, vocab.size());
        long masked = rows.stream().mapToLong(r -> r.getInt(6)).sum();
        assertEquals(masked, java.util.Arrays.stream(vocab.tokenCounts()).sum());
        assertTrue(vocab.coverage() > 0.5 && vocab.coverage() <= 1.0, "coverage " + vocab.coverage());
        assertTrue(Files.isRegularFile(tmp.resolve("vocab/vocab.safetensors")));
    }

    @Test
    void aFailedTaskIsRetriedWithoutLossOrDuplicates() throws Exception {
        String out = tmp.resolve("retried").toString();
        List<String> input = List.of(TestData.path("ultrachat_sample.jsonl").toString());
        spark.conf().set(FeaturesJob.FAIL_ONCE_CONF, "1");
        try {
            FeaturesJob.run(spark, settings(), input, out, 3, 64L << 20);
        } finally {
            spark.conf().unset(FeaturesJob.FAIL_ONCE_CONF);
        }
        List<String> ids = spark.read().parquet(out).select(FeatureTable.ID.name()).collectAsList().stream().map(r -> r.getString(0))
                .collect(Collectors.toList());
        Set<String> unique = new HashSet<>(ids);
        assertEquals(ids.size(), unique.size(), "no duplicates");
        assertEquals(40, unique.size(), "no losses");
    }

    /**
     * A record through the table: to a Spark row, written by Spark, read back by training's plain
     * parquet-hadoop reader unchanged; a copy Spark rewrote (its columns then optional) still
     * reads; a file without one of the table's columns is refused naming it.
     */
    @Test
    void aRecordGoesThroughTheTableUnchangedAndAFileWithoutItsColumnsIsRefused() throws Exception {
        FeatureRecord r = new FeatureRecord("sample:1", new int[] {5, 70000, 9}, new byte[] {0, 1, 1},
                new byte[] {1, 2, 3, 4, 5, 6}, new byte[] {7, 8});
        String dir = tmp.resolve("one-row").toString();
        spark.createDataFrame(List.of(FeatureRows.of(r)), FeatureRows.SCHEMA).coalesce(1).write().parquet(dir);
        Row written = spark.read().parquet(dir).first();
        assertEquals(3, written.getInt(written.fieldIndex(FeatureTable.NUM_TOKENS.name())));
        assertEquals(2, written.getInt(written.fieldIndex(FeatureTable.NUM_MASKED.name())));

        String rewritten = tmp.resolve("one-row-rewritten").toString();
        spark.read().parquet(dir).write().parquet(rewritten);
        for (String d : List.of(dir, rewritten)) {
            FeatureRecord back = FeatureDataset.open(d, new Configuration()).inOrder(0, 1, 1).next();
            assertEquals(r.id(), back.id());
            assertArrayEquals(r.inputIds(), back.inputIds());
            assertArrayEquals(r.lossMask(), back.lossMask());
            assertArrayEquals(r.auxHidden(), back.auxHidden());
            assertArrayEquals(r.lastHidden(), back.lastHidden());
        }

        String noMask = tmp.resolve("no-mask").toString();
        spark.read().parquet(dir).drop(FeatureTable.LOSS_MASK.name()).write().parquet(noMask);
        IOException e = assertThrows(IOException.class, () -> FeatureDataset.open(noMask, new Configuration()));
        assertTrue(e.getMessage().contains("is not a features file") && e.getMessage().contains("loss_mask missing"),
                e.getMessage());
    }

    private static float[] halfs(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.length / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = Fp16.toFloat(b.getShort());
        }
        return out;
    }

    /** fp16 rounding of an fp32 value (2^-11 relative) plus the batched-vs-single fp32 difference. */
    private static void assertHalfOf(float expected, float actual, String id) {
        double tol = Math.abs(expected) * (0x1p-11 + 1e-4) + 1e-4;
        if (Math.abs(expected - actual) > tol) {
            throw new AssertionError(id + ": stored " + actual + " is not fp16 of " + expected);
        }
    }
}
