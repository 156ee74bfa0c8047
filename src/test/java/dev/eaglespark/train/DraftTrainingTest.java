package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.spark.FeaturesJob;
import dev.eaglespark.spark.VocabJob;
import dev.eaglespark.tensors.Bf16;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.TensorDType;
import dev.eaglespark.testutil.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Draft training on stories15M's own features from the real sample conversations: ShareGPT's and
 * the first 32 of UltraChat's to train on, UltraChat's last 8 held out for validation.
 */
class DraftTrainingTest {
    private static final int VALIDATION_ROWS = 4;
    @TempDir
    static Path tmp;
    private static String features;
    private static String heldOut;
    private static Path model;
    private static TrainingRuns runs;

    @BeforeAll
    static void makeFeatures() throws Exception {
        model = Stories15M.ensure();
        features = tmp.resolve("features").toString();
        heldOut = tmp.resolve("held-out").toString();
        SparkSession spark = SparkSession.builder().master("local[2]").appName("train-test")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            FeatureSettings settings = new FeatureSettings(model.toString(), null, 256, TruncationPolicy.TRUNCATE, null,
                    2048, 32);
            List<String> ultrachat = Files.readAllLines(TestData.path("ultrachat_sample.jsonl"));
            Path trained = Files.write(tmp.resolve("ultrachat_train.jsonl"), ultrachat.subList(0, 32));
            Path held = Files.write(tmp.resolve("ultrachat_held_out.jsonl"), ultrachat.subList(32, 40));
            FeaturesJob.run(spark, settings, List.of(TestData.path("sharegpt_sample.jsonl").toString(),
                    trained.toString()), features, 2, 64L << 20);
            FeaturesJob.run(spark, settings, List.of(held.toString()), heldOut, 2, 64L << 20);
            VocabJob.run(spark, features, tmp.resolve("vocab").toString(), 2000);
        } finally {
            spark.stop();
        }
        runs = new TrainingRuns(features, model.toString(), tmp.resolve("vocab/vocab.safetensors").toString(),
                new Configuration());
    }

    @Test
    void trainingLowersTheLossAndRaisesFirstStepAccuracy() throws Exception {
        DraftTraining.Summary s = runs.run(runs.job(tmp.resolve("ck-learn").toString(), 40, 0, false, false,
                null));
        List<StepMetrics> m = s.metrics();
        double lossStart = m.subList(0, 5).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        double lossEnd = m.subList(35, 40).stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
        double accStart = m.subList(0, 5).stream().mapToDouble(x -> x.stepAcc()[0]).average().orElseThrow();
        double accEnd = m.subList(35, 40).stream().mapToDouble(x -> x.stepAcc()[0]).average().orElseThrow();
        System.out.printf("draft training on stories15M: loss %.3f -> %.3f, step-0 accuracy %.3f -> %.3f%n",
                lossStart, lossEnd, accStart, accEnd);
        assertTrue(lossEnd < 0.9 * lossStart, "loss " + lossStart + " -> " + lossEnd);
        assertTrue(accEnd > accStart + 0.1, "acc0 " + accStart + " -> " + accEnd);
        assertTrue(Files.isRegularFile(tmp.resolve("ck-learn/metrics.csv")));
    }

    /**
     * With a validation split the resumed run also ends with the same validation numbers and the
     * same best checkpoint (restored from state.json), and points the same pointer file at it.
     */
    @Test
    void aResumedRunEqualsAnUninterruptedOne() throws Exception {
        String straight = tmp.resolve("ck-straight").toString();
        String crashed = tmp.resolve("ck-crashed").toString();
        DraftTraining.Summary[] runsOf = runs.assertResumeIsExact(straight, crashed, 3, null, null,
                j -> j.withValidation(new TrainJob.Validation(heldOut, 0, VALIDATION_ROWS, false)));
        DraftTraining.Summary whole = runsOf[0];
        DraftTraining.Summary resumed = runsOf[1];
        assertEquals(List.of(3L, 6L), whole.validations().stream().map(ValidationMetrics::step).toList());
        assertEquals(List.of(6L), resumed.validations().stream().map(ValidationMetrics::step).toList());
        assertEquals(whole.validations().get(1).expectedAcceptanceLength(),
                resumed.validations().get(0).expectedAcceptanceLength(), 0.0);
        assertEquals(whole.best(), resumed.best());
        assertEquals(Files.readString(Path.of(straight, Checkpoints.BEST)), Files.readString(Path.of(crashed,
                Checkpoints.BEST)));
    }

    /**
     * Held-out rows scored at every checkpoint: the numbers in the summary, the log's metrics.csv
     * (val_* columns filled on validated updates only) and each checkpoint's state.json agree; the
     * expected acceptance length is 1 + sum_k prod_{j <= k} acc_j of the same row; the simulated
     * rounds' tau is at most 1 + sum_k prod_{j <= k} accept_j of their acceptance by position (equal
     * but for rounds cut by an answer's end, which reach fewer positions); the best checkpoint by
     * val_tau is named by the pointer file and is what the export holds. state.json's validation
     * reads back, and so does one written before the simulated rounds. Scoring changes nothing in
     * training: the weights equal a run without validation bit for bit.
     */
    @Test
    void validationScoresHeldOutRowsAndTheExportIsTheBestCheckpoint() throws Exception {
        String ck = tmp.resolve("ck-validated").toString();
        String export = tmp.resolve("export-validated").toString();
        DraftTraining.Summary s = runs.run(runs.job(ck, 6, 2, false, false, export)
                .withValidation(new TrainJob.Validation(heldOut, 0, VALIDATION_ROWS, false)));
        List<ValidationMetrics> v = s.validations();
        assertEquals(List.of(2L, 4L, 6L), v.stream().map(ValidationMetrics::step).toList());
        ValidationMetrics best = v.get(0);
        for (ValidationMetrics x : v) {
            System.out.println(x.format());
            assertEquals(VALIDATION_ROWS, x.rows());
            assertEquals(7, x.stepAcc().length);
            for (double acc : x.stepAcc()) {
                assertTrue(acc >= 0 && acc <= 1, x.format());
            }
            assertEquals(7, x.roundAcceptance().length);
            assertTrue(x.rounds() > 0 && x.roundsTau() >= 1, x.format());
            for (double accept : x.roundAcceptance()) {
                assertTrue(accept >= 0 && accept <= 1, x.format());
            }
            best = x.expectedAcceptanceLength() > best.expectedAcceptanceLength() ? x : best;
        }
        assertEquals(best.step(), s.best().step());
        assertEquals(Checkpoints.stepDir(best.step()), Files.readString(Path.of(ck, Checkpoints.BEST)).strip());

        List<String> csv = Files.readAllLines(Path.of(ck, "metrics.csv"));
        List<String> columns = List.of(csv.get(0).split(","));
        for (String c : List.of("val_loss", "val_tau", "val_loss_0", "val_acc_0", "val_loss_6", "val_acc_6",
                "val_rounds", "val_rounds_tau", "val_accept_0", "val_accept_6")) {
            assertTrue(columns.contains(c), c + " in " + columns);
        }
        for (String line : csv.subList(1, csv.size())) {
            String[] row = line.split(",", -1);
            long step = Long.parseLong(row[0]);
            String tau = row[columns.indexOf("val_tau")];
            assertEquals(step % 2 == 0, !tau.isEmpty(), "step " + step);
            if (!tau.isEmpty()) {
                double expected = 1;
                double product = 1;
                for (int k = 0; k < 7; k++) {
                    product *= Double.parseDouble(row[columns.indexOf("val_acc_" + k)]);
                    expected += product;
                }
                assertEquals(expected, Double.parseDouble(tau), 1e-12, "step " + step);
                assertEquals(v.get((int) step / 2 - 1).expectedAcceptanceLength(), Double.parseDouble(tau), 0.0);
                double chained = 1;
                product = 1;
                for (int k = 0; k < 7; k++) {
                    product *= Double.parseDouble(row[columns.indexOf("val_accept_" + k)]);
                    chained += product;
                }
                double rounds = Double.parseDouble(row[columns.indexOf("val_rounds_tau")]);
                assertTrue(rounds <= chained + 1e-12, "step " + step + ": " + rounds + " > " + chained);
                assertEquals(v.get((int) step / 2 - 1).roundsTau(), rounds, 0.0);
            }
        }
        JsonNode state = new ObjectMapper().readTree(Path.of(ck, "step-00000006", "state.json").toFile());
        assertEquals(6, state.at("/extra/validation/step").asLong());
        assertEquals(Checkpoints.stepDir(best.step()), state.at("/extra/best/checkpoint").asText());
        assertEquals("shifted", state.at("/extra/loss_mask").asText());
        ValidationMetrics read = ValidationMetrics.fromJson(state.at("/extra/validation"));
        ValidationMetrics last = v.get(2);
        assertArrayEquals(last.roundAcceptance(), read.roundAcceptance(), 0.0);
        assertEquals(last.roundsTau(), read.roundsTau(), 0.0);
        assertEquals(last.rounds(), read.rounds());
        com.fasterxml.jackson.databind.node.ObjectNode old = state.at("/extra/validation").deepCopy();
        old.remove(List.of("rounds", "rounds_tau", "round_acceptance"));
        ValidationMetrics older = ValidationMetrics.fromJson(old);
        assertFalse(older.hasRounds());
        assertEquals(last.expectedAcceptanceLength(), older.expectedAcceptanceLength(), 0.0);
        assertFalse(older.format().contains("simulated"), older.format());

        try (SafeTensorsFile out = SafeTensorsFile.open(Path.of(export, "model.safetensors"));
             SafeTensorsFile chosen = SafeTensorsFile.open(Path.of(ck, Checkpoints.stepDir(best.step()),
                     "model.safetensors"))) {
            for (String name : chosen.tensors().keySet()) {
                float[] fp32 = chosen.readFloats(name);
                float[] bf16 = out.readFloats(name);
                for (int i = 0; i < fp32.length; i++) {
                    assertEquals(Bf16.toFloat(Bf16.fromFloat(fp32[i])), bf16[i], 0f, name + "[" + i + "]");
                }
            }
        }
        String plain = tmp.resolve("ck-unvalidated").toString();
        runs.run(runs.job(plain, 2, 2, false, false, null));
        runs.assertSameTensors(plain + "/step-00000002/model.safetensors", ck + "/step-00000002/model.safetensors");
    }

    @Test
    void exportsWhatServingEnginesLoad() throws Exception {
        String export = tmp.resolve("export").toString();
        String ck = tmp.resolve("ck-export").toString();
        runs.run(runs.job(ck, 2, 0, false, false, export));
        JsonNode cfg = new ObjectMapper().readTree(Path.of(export, "config.json").toFile());
        assertEquals("LlamaForCausalLMEagle3", cfg.get("architectures").get(0).asText());
        assertEquals(2000, cfg.get("draft_vocab_size").asInt());
        assertEquals(32000, cfg.get("vocab_size").asInt());
        assertEquals(288, cfg.get("target_hidden_size").asInt());
        assertEquals(256, cfg.get("max_position_embeddings").asInt());
        assertFalse(cfg.get("eagle_config").has("eagle_aux_hidden_state_layer_ids"), "default layers: left out");
        try (SafeTensorsFile out = SafeTensorsFile.open(Path.of(export, "model.safetensors"));
             SafeTensorsFile trained = SafeTensorsFile.open(Path.of(ck, "step-00000002/model.safetensors"))) {
            assertFalse(out.contains("embed_tokens.weight"));
            assertEquals(TensorDType.I64, out.info("d2t").dtype());
            assertEquals(TensorDType.BOOL, out.info("t2d").dtype());
            for (String name : trained.tensors().keySet()) {
                assertEquals(TensorDType.BF16, out.info(name).dtype(), name);
                float[] fp32 = trained.readFloats(name);
                float[] bf16 = out.readFloats(name);
                for (int i = 0; i < fp32.length; i++) {
                    assertEquals(Bf16.toFloat(Bf16.fromFloat(fp32[i])), bf16[i], 0f, name + "[" + i + "]");
                }
            }
            assertEquals(2000, out.readLongs("d2t").length);
            assertEquals(2000, java.util.Arrays.stream(out.readLongs("t2d")).sum());
        }
        assertCheckpointExportsTheSame(ck + "/step-00000002", tmp.resolve("vocab/vocab.safetensors").toString(), export);
    }

    /** The export command's files for the run's last checkpoint are the run's own export, byte for byte. */
    private static void assertCheckpointExportsTheSame(String checkpoint, String vocab, String export) throws Exception {
        Path again = Files.createTempDirectory(tmp, "checkpoint-export");
        CheckpointExport.write(checkpoint, features, model.toString(), vocab, again.toString(), ServingEngine.SGLANG,
                new Configuration());
        for (String file : List.of("config.json", "model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(Path.of(export, file)), Files.readAllBytes(again.resolve(file)), file);
        }
    }

    @Test
    void sharedHeadExportHasZeroOffsetsAndTheTargetsHead() throws Exception {
        String export = tmp.resolve("export-shared").toString();
        runs.run(runs.job(tmp.resolve("ck-shared").toString(), 1, 0, false, true, export));
        try (SafeTensorsFile out = SafeTensorsFile.open(Path.of(export, "model.safetensors"));
             SafeTensorsFile target = SafeTensorsFile.open(model.resolve("model.safetensors"))) {
            assertArrayEquals(new long[32000], out.readLongs("d2t"), "d2t all zeros");
            assertEquals(32000, java.util.Arrays.stream(out.readLongs("t2d")).sum());
            float[] head = target.readFloats("model.embed_tokens.weight"); // stories15M ties its head
            float[] exported = out.readFloats("lm_head.weight");
            for (int i = 0; i < head.length; i += 97) {
                assertEquals(Bf16.toFloat(Bf16.fromFloat(head[i])), exported[i], 0f);
            }
        }
        assertCheckpointExportsTheSame(tmp.resolve("ck-shared/step-00000001").toString(), null, export);
    }
}
