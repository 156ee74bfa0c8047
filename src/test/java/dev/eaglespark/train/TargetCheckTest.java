package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.TargetFiles;
import dev.eaglespark.io.Digests;
import dev.eaglespark.spark.VocabJob;
import dev.eaglespark.testutil.LogCapture;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training checks what it trains on against the target it is given ({@link TargetCheck}), on
 * stories15M features: another target's config, tokenizer or template, or other aux layers stop
 * the run naming both values and both places, unless --allow-target-mismatch (then warnings);
 * another hidden size or number of aux layers stops it always; fields an older manifest lacks
 * are warnings. Manifests of other targets are the real one with fields changed.
 */
class TargetCheckTest {
    @TempDir
    static Path tmp;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Configuration CONF = new Configuration();
    private static Path model;
    private static String features;
    private static String vocab;

    @BeforeAll
    static void makeFeatures() throws Exception {
        model = Stories15M.ensure();
        features = TrainingRuns.sampleFeatures(tmp, 4, 1,
                (spark, f) -> VocabJob.run(spark, f, tmp.resolve("vocab").toString(), 100));
        vocab = tmp.resolve("vocab").resolve(DraftVocab.FILE).toString();
    }

    /** A one-update run on {@code feats} with {@code target}, a draft of 100 tokens. */
    private static TrainJob job(String feats, Path target) {
        return runs(feats, target).job(tmp.resolve("ck-" + target.getFileName()).toString(), 1, 0, false, false, null);
    }

    private static TrainingRuns runs(String feats, Path target) {
        return new TrainingRuns(feats, target.toString(), vocab, CONF);
    }

    private static void check(TrainJob job) throws IOException {
        TargetCheck.require(job, TargetFiles.read(job.target(), CONF), CONF, true);
    }

    private static String manifestField(String parent, String field) throws IOException {
        return JSON.readTree(Path.of(features, FeatureManifest.FILE).toFile()).path(parent).path(field).asText();
    }

    /** A features directory whose manifest is the real one changed by {@code edit} (no rows: the check reads none). */
    private static String edited(String name, Consumer<ObjectNode> edit) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        ObjectNode m = (ObjectNode) JSON.readTree(Path.of(features, FeatureManifest.FILE).toFile());
        edit.accept(m);
        Files.write(dir.resolve(FeatureManifest.FILE), JSON.writeValueAsBytes(m));
        return dir.toString();
    }

    @Test
    void featuresOfAnotherTargetStopTheRunUnlessAllowed() throws Exception {
        Path other = TrainingRuns.otherNormEpsilon(tmp.resolve("other-target"));
        TrainJob job = job(features, other);

        var e = assertThrows(TargetCheck.MismatchException.class, () -> runs(features, other).run(job));
        String expected = "different config.json SHA-256: " + manifestField("target", "config_sha256") + " (features "
                + features + ") vs " + Digests.of(other.resolve("config.json"), "SHA-256") + " (target " + other + ")";
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains("give --allow-target-mismatch to train anyway"), e.getMessage());
        assertFalse(Files.exists(Path.of(job.checkpoints())), "stopped before the checkpoint directory was made");

        try (LogCapture log = new LogCapture(TargetCheck.class)) {
            DraftTraining.Summary s = runs(features, other).run(job.allowingTargetMismatch());
            assertEquals(1, s.steps());
            assertTrue(log.text().contains("WARN target mismatch allowed by --allow-target-mismatch: " + expected),
                    log.text());
        }
    }

    @Test
    void anotherTokenizerOrTemplateStopsNamingBoth() throws Exception {
        String f = edited("other-tokenizer", m -> {
            ((ObjectNode) m.get("target")).put("tokenizer_sha256", "1".repeat(64));
            ((ObjectNode) m.get("template")).put("sha256", "2".repeat(64));
        });
        var e = assertThrows(TargetCheck.MismatchException.class, () -> check(job(f, model)));
        assertTrue(e.getMessage().contains("different tokenizer.json SHA-256: " + "1".repeat(64) + " (features " + f
                + ") vs " + Digests.of(model.resolve("tokenizer.json"), "SHA-256") + " (target " + model + ")"),
                e.getMessage());
        assertTrue(e.getMessage().contains("different chat template: model template " + "2".repeat(64) + " (features "
                + f + ") vs model template " + Digests.of(model.resolve("tokenizer_config.json"), "SHA-256")
                + " (target " + model + ")"), e.getMessage());
        check(job(f, model).allowingTargetMismatch());
    }

    @Test
    void anotherHiddenSizeOrAuxLayerCountStopsEvenWhenAllowed() throws Exception {
        String wide = edited("wide", m -> ((ObjectNode) m.get("target")).put("hidden_size", 512));
        var e = assertThrows(TargetCheck.MismatchException.class,
                () -> check(job(wide, model).allowingTargetMismatch()));
        assertTrue(e.getMessage().contains("different hidden size: 512 (features " + wide + ") vs 288 (target " + model
                + ")"), e.getMessage());
        assertTrue(e.getMessage().contains("--allow-target-mismatch cannot help"), e.getMessage());

        String twoAux = edited("two-aux", m -> m.putArray("aux_layer_ids").add(1).add(2));
        TrainJob validated = job(features, model).withValidation(new TrainJob.Validation(twoAux, 0, 0, false));
        e = assertThrows(TargetCheck.MismatchException.class, () -> check(validated.allowingTargetMismatch()));
        assertTrue(e.getMessage().contains("different number of aux layers: 2 (validation features " + twoAux
                + ") vs 3 (features " + features + ")"), e.getMessage());
    }

    @Test
    void otherAuxLayersStopUnlessAllowed() throws Exception {
        String otherAux = edited("other-aux", m -> m.putArray("aux_layer_ids").add(1).add(2).add(3));
        TrainJob validated = job(features, model).withValidation(new TrainJob.Validation(otherAux, 0, 0, false));
        var e = assertThrows(TargetCheck.MismatchException.class, () -> check(validated));
        assertTrue(e.getMessage().contains("different aux layers: [1, 2, 3] (validation features " + otherAux
                + ") vs [2, 3, 3] (features " + features + ")"), e.getMessage());
        check(validated.allowingTargetMismatch());

        String beyond = edited("aux-beyond", m -> m.putArray("aux_layer_ids").add(2).add(3).add(7));
        e = assertThrows(TargetCheck.MismatchException.class, () -> check(job(beyond, model)));
        assertTrue(e.getMessage().contains("aux layers out of range: [2, 3, 7] (features " + beyond
                + ") vs hidden-state indices 0 to 5 (target " + model + ", 6 layers)"), e.getMessage());
    }

    @Test
    void anOlderManifestIsCheckedForWhatItRecordsWithWarnings() throws Exception {
        String older = edited("older", m -> {
            ((ObjectNode) m.get("target")).remove("tokenizer_sha256");
            m.remove("template");
        });
        try (LogCapture log = new LogCapture(TargetCheck.class)) {
            check(job(older, model));
            assertTrue(log.text().contains("WARN no tokenizer.json SHA-256 recorded (features " + older
                    + ", an older features version): not checked"), log.text());
            assertTrue(log.text().contains("WARN no chat template recorded (features " + older), log.text());
        }
    }

    @Test
    void aTemplateFileIsComparedWithTemplateFilesOnly() throws Exception {
        // Features rendered with a file given to the features stage: the target cannot say which.
        String overridden = edited("template-file", m -> ((ObjectNode) m.get("template")).put("source", "override")
                .put("sha256", "3".repeat(64)));
        check(job(overridden, model));

        // Online with a template file, validated on features of the model's own template: they differ.
        FeatureSettings withFile = new FeatureSettings(model.toString(), null, 256, TruncationPolicy.TRUNCATE,
                "{{ messages }}", 2048, 32);
        TrainJob online = new TrainingRuns(null, model.toString(), vocab, CONF,
                new TrainJob.OnlineInput(List.of("unread.jsonl"), withFile, 1))
                .job(tmp.resolve("ck-online").toString(), 1, 0, false, false, null)
                .withValidation(new TrainJob.Validation(features, 0, 0, false));
        var e = assertThrows(TargetCheck.MismatchException.class, () -> check(online));
        assertTrue(e.getMessage().contains("different chat template: model template "
                + manifestField("template", "sha256") + " (validation features " + features + ") vs override template "
                + Digests.of(new java.io.ByteArrayInputStream("{{ messages }}".getBytes()), Long.MAX_VALUE, "SHA-256")
                + " (the online run on target " + model + ")"), e.getMessage());
    }
}
