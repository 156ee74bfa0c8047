package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.collective.LocalCollective;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.spark.FeaturesJob;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.HadoopFiles;
import dev.eaglespark.testutil.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * Small single-worker draft-training runs on stories15M features (or online on conversations,
 * when {@code online} is given), with features, checkpoints and exports under any Hadoop URI.
 */
public record TrainingRuns(String features, String target, String vocab, Configuration conf,
                           TrainJob.OnlineInput online) {

    public TrainingRuns(String features, String target, String vocab, Configuration conf) {
        this(features, target, vocab, conf, null);
    }

    public TrainJob job(String ckpt, long steps, long every, boolean resume, boolean shared, String export) {
        TrainSettings s = TrainSettings.builder().tttLength(7).loss(LossType.FORWARD_KL).lr(2e-3).minLr(1e-4)
                .warmupSteps(5).microBatch(4).seed(11).build();
        return new TrainJob(online == null ? features : null, target, shared ? null : vocab, shared, ckpt, 1, steps,
                every, resume, export, ServingEngine.SGLANG, s, null, online);
    }

    public DraftTraining.Summary run(TrainJob job) throws IOException {
        return DraftTraining.run(job, new LocalCollective(), Device.cpu(), conf);
    }

    /** Work done with the Spark session that made the features, before it stops. */
    public interface WithSpark {
        void accept(SparkSession spark, String features) throws Exception;
    }

    /**
     * stories15M features (max length 256) of the first {@code samples} ShareGPT sample
     * conversations, written to {@code dir/features} by a local Spark session that {@code then}
     * uses before it stops; returns the features' path.
     */
    public static String sampleFeatures(Path dir, int samples, long rowGroupBytes, WithSpark then) throws Exception {
        Path model = Stories15M.ensure();
        String features = dir.resolve("features").toString();
        Path input = dir.resolve("conversations.jsonl");
        try (var lines = Files.lines(TestData.path("sharegpt_sample.jsonl"))) {
            Files.write(input, lines.limit(samples).toList());
        }
        SparkSession spark = SparkSession.builder().master("local[2]").appName("training-runs")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            FeaturesJob.run(spark, new FeatureSettings(model.toString(), null, 256, TruncationPolicy.TRUNCATE, null,
                    2048, 32), List.of(input.toString()), features, 1, rowGroupBytes);
            then.accept(spark, features);
        } finally {
            spark.stop();
        }
        return features;
    }

    /**
     * stories15M at {@code dir} (links to its files) with ten times its norm epsilon: a target of
     * the same shapes and another config.json, so another draft config and config hash.
     */
    public static Path otherNormEpsilon(Path dir) throws IOException {
        Path model = Stories15M.ensure();
        Files.createDirectories(dir);
        try (var files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.createSymbolicLink(dir.resolve(f.getFileName()), f);
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) json.readTree(model.resolve("config.json").toFile());
        cfg.put("rms_norm_eps", cfg.get("rms_norm_eps").asDouble() * 10);
        Files.delete(dir.resolve("config.json"));
        Files.write(dir.resolve("config.json"), json.writeValueAsBytes(cfg));
        return dir;
    }

    public static String stepDir(long step) {
        return Checkpoints.stepDir(step);
    }

    /**
     * Trains 2 x {@code every} updates straight into {@code straight}; then resumes a run that
     * died after its first checkpoint (that checkpoint copied into {@code crashed}, next to a
     * half-written, uncommitted second one) and checks it ends bit for bit where the straight
     * run did. Each run exports where its export argument says (null for no export).
     */
    public void assertResumeIsExact(String straight, String crashed, long every, String straightExport,
                                    String resumedExport) throws IOException {
        assertResumeIsExact(straight, crashed, every, straightExport, resumedExport, j -> j);
    }

    /** The same for jobs changed by {@code variant} (a validation split, say); returns both runs' summaries. */
    public DraftTraining.Summary[] assertResumeIsExact(String straight, String crashed, long every,
                                                       String straightExport, String resumedExport,
                                                       UnaryOperator<TrainJob> variant) throws IOException {
        long steps = 2 * every;
        DraftTraining.Summary whole = run(variant.apply(job(straight, steps, every, false, false, straightExport)));
        HadoopFiles.copy(straight + "/" + stepDir(every), crashed + "/" + stepDir(every), conf);
        copyRejectsUpTo(straight, crashed, every);
        HadoopFiles.write(crashed + "/" + stepDir(steps) + "/model.safetensors",
                "partial".getBytes(StandardCharsets.UTF_8), conf);
        DraftTraining.Summary resumed = run(variant.apply(job(crashed, steps, every, true, false, resumedExport)));
        assertEquals(every, resumed.metrics().size(), "resumed after step " + every);
        assertSameTensors(straight + "/" + stepDir(steps) + "/model.safetensors",
                crashed + "/" + stepDir(steps) + "/model.safetensors");
        return new DraftTraining.Summary[] {whole, resumed};
    }

    /**
     * The rejects files an online run had written when it died after checkpoint {@code step}:
     * those of checkpoints up to it (rank-R-step-S.jsonl); none for offline runs.
     */
    private void copyRejectsUpTo(String from, String to, long step) throws IOException {
        String dir = "/" + TrainingRejects.DIR;
        org.apache.hadoop.fs.Path written = new org.apache.hadoop.fs.Path(from + dir);
        if (!written.getFileSystem(conf).exists(written)) {
            return;
        }
        for (String name : HadoopFiles.list(from + dir, conf)) {
            long s = Long.parseLong(name.replaceAll(".*-step-(\\d+)\\.jsonl", "$1"));
            if (s <= step) {
                HadoopFiles.copy(from + dir + "/" + name, to + dir + "/" + name, conf);
            }
        }
    }

    /** Every tensor of two safetensors files equal bit for bit. */
    public void assertSameTensors(String expectedUri, String actualUri) throws IOException {
        Path expected = HadoopFiles.download(expectedUri, conf);
        Path actual = HadoopFiles.download(actualUri, conf);
        try (SafeTensorsFile a = SafeTensorsFile.open(expected); SafeTensorsFile b = SafeTensorsFile.open(actual)) {
            assertEquals(a.tensors().keySet(), b.tensors().keySet(), actualUri);
            for (String name : a.tensors().keySet()) {
                assertArrayEquals(a.readFloats(name), b.readFloats(name), name + " bit for bit");
            }
        } finally {
            Files.deleteIfExists(expected);
            Files.deleteIfExists(actual);
        }
    }
}
