package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.spark.FeaturesJob;
import dev.eaglespark.spark.VocabJob;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online training (conversations in, the target inside the run) on stories15M, CPU fp32, against
 * offline training on stage-1 features of the same file. Input: 12 real ShareGPT conversations, a
 * blank line, a malformed line and a one-sided record (an MT-bench question). With one unit on
 * each side (one input split; one Parquet row group) both visit the samples in the same order
 * ({@link DataOrder} orders a unit's records by id), so the runs see the same batches;
 * 3 updates of 4 rows are one epoch of the 12 trainable samples.
 */
class OnlineTrainingTest {
    @TempDir
    static Path tmp;
    private static Path model;
    private static Path input;
    private static String features;
    private static TrainingRuns offline;
    private static TrainingRuns online;

    @BeforeAll
    static void setUp() throws Exception {
        model = Stories15M.ensure();
        List<String> lines = new ArrayList<>(Files.readAllLines(TestData.path("sharegpt_sample.jsonl")).subList(0, 12));
        lines.add(5, "");
        lines.add(9, "{\"conversations\": [");
        lines.add(Files.readAllLines(TestData.path("mt_bench_questions.jsonl")).get(0));
        input = tmp.resolve("conversations.jsonl");
        Files.write(input, lines, StandardCharsets.UTF_8);
        FeatureSettings settings = new FeatureSettings(model.toString(), null, 256, TruncationPolicy.TRUNCATE, null,
                2048, 32);
        features = tmp.resolve("features").toString();
        SparkSession spark = SparkSession.builder().master("local[1]").appName("online-test")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            // One partition, one row group: a single unit, as the single input split online.
            FeaturesJob.run(spark, settings, List.of(input.toString()), features, 1, 256L << 20);
            VocabJob.run(spark, features, tmp.resolve("vocab").toString(), 2000);
        } finally {
            spark.stop();
        }
        String vocab = tmp.resolve("vocab/vocab.safetensors").toString();
        offline = new TrainingRuns(features, model.toString(), vocab, new Configuration());
        online = new TrainingRuns(null, model.toString(), vocab, new Configuration(),
                new TrainJob.OnlineInput(List.of(input.toString()), settings, 1));
    }

    /**
     * The online run's weights equal the offline run's within 1e-6 of each tensor's largest
     * magnitude. Not bit for bit by construction: stage 1 ran the target over batches packed by
     * length, online each micro-batch is one forward, and CPU matrix products of other shapes
     * may round differently before the states are rounded to fp16. Measured on this project's
     * build machine: bit for bit (difference 0).
     */
    @Test
    void onlineTrainingEqualsOfflineTrainingOnTheSameData() throws Exception {
        String a = tmp.resolve("ck-offline").toString();
        String b = tmp.resolve("ck-online").toString();
        List<StepMetrics> off = offline.run(offline.job(a, 3, 0, false, false, null)).metrics();
        List<StepMetrics> on = online.run(online.job(b, 3, 0, false, false, null)).metrics();
        for (int i = 0; i < off.size(); i++) {
            assertEquals(off.get(i).tokens(), on.get(i).tokens(), "update " + (i + 1) + " trains the same samples");
            assertEquals(off.get(i).loss(), on.get(i).loss(), 1e-5 * Math.abs(off.get(i).loss()), "loss " + (i + 1));
        }
        double diff = Close.maxRelativeDifference(Path.of(a, TrainingRuns.stepDir(3), "model.safetensors"),
                Path.of(b, TrainingRuns.stepDir(3), "model.safetensors"));
        System.out.printf("online vs offline training, 3 updates: max relative weight difference %.3g%n", diff);
        assertTrue(diff <= 1e-6, "max relative difference " + diff);

        // Rejects: on file next to the checkpoints and counted, as stage 1 counted them.
        JsonNode manifest = new ObjectMapper().readTree(Path.of(features, FeatureManifest.FILE).toFile());
        JsonNode state = new ObjectMapper().readTree(Path.of(b, TrainingRuns.stepDir(3), "state.json").toFile());
        assertEquals(manifest.get("rejects"), state.get("extra").get("rejects"));
        List<String> rejects = rejectLines(b);
        assertEquals(2, rejects.size(), String.join("\n", rejects));
        assertTrue(rejects.stream().anyMatch(r -> r.contains("malformed_json")), String.join("\n", rejects));
        assertTrue(rejects.stream().anyMatch(r -> r.contains("one_sided")), String.join("\n", rejects));
    }

    @Test
    void aResumedOnlineRunEqualsAnUninterruptedOne() throws Exception {
        String straight = tmp.resolve("ck-straight").toString();
        String crashed = tmp.resolve("ck-crashed").toString();
        online.assertResumeIsExact(straight, crashed, 1, null, null);
        assertEquals(rejectFiles(straight), rejectFiles(crashed), "each reject on file once, as in one run");
    }

    private static List<String> rejectLines(String ckpt) throws Exception {
        List<String> out = new ArrayList<>();
        rejectFiles(ckpt).values().forEach(out::addAll);
        return out;
    }

    private static Map<String, List<String>> rejectFiles(String ckpt) throws Exception {
        Map<String, List<String>> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(Path.of(ckpt, TrainingRejects.DIR))) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).toList()) {
                out.put(f.getFileName().toString(), Files.readAllLines(f));
            }
        }
        return out;
    }
}
