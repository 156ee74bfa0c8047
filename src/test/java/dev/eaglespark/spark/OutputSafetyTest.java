package dev.eaglespark.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.regen.RegenerateSettings;
import dev.eaglespark.testutil.TestData;
import dev.eaglespark.train.DraftTraining;
import dev.eaglespark.train.TrainJob;
import dev.eaglespark.train.TrainSettings;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs given by mistake lose nothing: an output that holds files the stage did not write, or
 * that overlaps an input (equal, inside, containing; however the path is spelled), is refused
 * before any work; a rerun that fails leaves the previous output as it was; a corrupt archive is
 * named with the line where reading stopped. Local files; the object-store layout is covered by
 * {@code dev.eaglespark.fs}.
 */
class OutputSafetyTest {
    @TempDir
    static Path tmp;
    private static SparkSession spark;
    private static Path model;
    private static Path inputDir;

    @BeforeAll
    static void start() throws Exception {
        spark = SparkSession.builder().master("local[2]").appName("output-safety")
                .config("spark.ui.enabled", "false").getOrCreate();
        model = Stories15M.ensure();
        inputDir = Files.createDirectories(tmp.resolve("data"));
        try (var lines = Files.lines(TestData.path("sharegpt_sample.jsonl"))) {
            Files.write(inputDir.resolve("conversations.jsonl"), lines.limit(3).toList());
        }
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static FeatureSettings settings(Path modelDir) {
        return new FeatureSettings(modelDir.toString(), null, 128, TruncationPolicy.TRUNCATE, null, 2048, 32);
    }

    private static FeaturesJob.Summary features(Path modelDir, String input, String output) throws IOException {
        return FeaturesJob.run(spark, settings(modelDir), List.of(input), output, 1, 64L << 20);
    }

    private static String refusal(Executable run) {
        return assertThrows(IOException.class, run).getMessage();
    }

    @Test
    void anOutputHoldingForeignFilesIsRefusedAndKept() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("foreign"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        Files.createDirectories(out.resolve("old-results"));
        String why = refusal(() -> features(model, inputDir.toString(), out.toString()));
        assertTrue(why.contains("holds 2 entries that no previous features run wrote (notes.txt, old-results/)"), why);
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));

        why = refusal(() -> VocabJob.run(spark, tmp.resolve("nothing").toString(), out.toString(), 10));
        assertTrue(why.contains("no previous vocab run wrote"), why);
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
    }

    @Test
    void anOutputOverlappingAnInputIsRefused() throws Exception {
        String file = inputDir.resolve("conversations.jsonl").toString();
        byte[] before = Files.readAllBytes(Path.of(file));
        // Equal (spelled another way), inside, containing; a glob input; the model directory.
        String why = refusal(() -> features(model, inputDir.toString(), inputDir + "/sub/../."));
        assertTrue(why.contains("is the input " + inputDir.toUri().toString().replace("file:///", "file:/")
                .replaceAll("/$", "")), why);
        why = refusal(() -> features(model, inputDir.toString(), inputDir.resolve("features").toString()));
        assertTrue(why.contains("lies inside the input"), why);
        why = refusal(() -> features(model, file, inputDir.toString()));
        assertTrue(why.contains("contains the input"), why);
        why = refusal(() -> features(model, inputDir + "/*.jsonl", "file://" + inputDir));
        assertTrue(why.contains("contains the input"), why);
        why = refusal(() -> features(model, file, model.resolve("features").toString()));
        assertTrue(why.contains("lies inside the input " + model.toUri().toString().replace("file:///", "file:/")
                .replaceAll("/$", "")), why);
        why = refusal(() -> RegenerateJob.run(spark, model.toString(), null, new RegenerateSettings(8, 64, 0.0, 1.0,
                1L, 2), List.of(file), inputDir.toString(), 1));
        assertTrue(why.contains("regenerate: --output") && why.contains("contains the input"), why);
        TrainJob export = new TrainJob(inputDir.toString(), model.toString(), null, true, tmp.resolve("ck").toString(),
                1, 1, 1, false, inputDir.toString(), ServingEngine.SGLANG,
                TrainSettings.builder().tttLength(7).loss(LossType.FORWARD_KL).lr(1e-3).minLr(1e-4).warmupSteps(1)
                        .build());
        why = refusal(() -> DraftTraining.prepareExport(export, new Configuration()));
        assertTrue(why.contains("train: --export") && why.contains("is the input"), why);
        assertArrayEquals(before, Files.readAllBytes(Path.of(file)), "the input is untouched");
    }

    @Test
    void aFailedRerunLeavesThePreviousOutputAndAGoodOneReplacesIt() throws Exception {
        Path out = tmp.resolve("features");
        features(model, inputDir.toString(), out.toString());
        byte[] manifest = Files.readAllBytes(out.resolve(FeatureManifest.FILE));
        List<String> files = names(out);
        assertTrue(files.contains(OutputPublisher.MARKER) && files.contains("_SUCCESS"), files.toString());

        // A rerun with a broken model: its weights are cut short, which only the tasks notice.
        Path broken = Files.createDirectories(tmp.resolve("broken-model"));
        try (var entries = Files.list(model)) {
            for (Path f : entries.toList()) {
                Files.createSymbolicLink(broken.resolve(f.getFileName()), f);
            }
        }
        Files.delete(broken.resolve("model.safetensors"));
        byte[] weights = Files.readAllBytes(model.resolve("model.safetensors"));
        Files.write(broken.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 2));
        assertThrows(Exception.class, () -> features(broken, inputDir.toString(), out.toString()));
        assertEquals(files, names(out), "the previous output is whole");
        assertArrayEquals(manifest, Files.readAllBytes(out.resolve(FeatureManifest.FILE)));
        assertEquals(List.of("broken-model", "data", "features"), siblingsOf(out), "no staging left behind");

        // A rerun that succeeds replaces the output (its own earlier output) as a whole.
        features(model, inputDir.toString(), out.toString());
        List<String> again = names(out);
        assertEquals(files.size(), again.size(), again.toString());
        assertTrue(again.stream().filter(n -> n.startsWith("part-")).noneMatch(files::contains), "new part files");
        assertEquals(List.of("broken-model", "data", "features"), siblingsOf(out));
    }

    @Test
    void aCorruptArchiveIsNamedWithTheLineWhereReadingStopped() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("gz"));
        Path gz = dir.resolve("conversations.jsonl.gz");
        List<String> lines;
        try (var l = Files.lines(TestData.path("sharegpt_sample.jsonl"))) {
            lines = l.limit(20).toList();
        }
        try (OutputStream os = new GZIPOutputStream(Files.newOutputStream(gz))) {
            os.write(String.join("\n", lines).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        byte[] bytes = Files.readAllBytes(gz);
        for (int i = bytes.length / 2; i < bytes.length / 2 + 64; i++) {
            bytes[i] ^= 0x5A;
        }
        Files.write(gz, bytes);
        String why = refusal(() -> features(model, gz.toString(), tmp.resolve("gz-features").toString()));
        assertTrue(why.matches("(?s).*input \\S*" + java.util.regex.Pattern.quote(gz.toString())
                + " cannot be read past line \\d+ .*"), why);
    }

    private static List<String> names(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".crc")).sorted().toList();
        }
    }

    private static List<String> siblingsOf(Path dir) throws IOException {
        try (var s = Files.list(dir.getParent())) {
            return s.map(p -> p.getFileName().toString()).filter(n -> List.of("broken-model", "data", "features")
                    .contains(n) || n.startsWith(".features")).sorted().toList();
        }
    }
}
