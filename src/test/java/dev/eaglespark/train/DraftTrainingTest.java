package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.model.Stories15M;
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

/** Draft training on stories15M's own features from the real sample conversations. */
class DraftTrainingTest {
    @TempDir
    static Path tmp;
    private static String features;
    private static Path model;
    private static TrainingRuns runs;

    @BeforeAll
    static void makeFeatures() throws Exception {
        model = Stories15M.ensure();
        features = tmp.resolve("features").toString();
        SparkSession spark = SparkSession.builder().master("local[2]").appName("train-test")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            FeaturesJob.run(spark, new FeatureSettings(model.toString(), null, 256, TruncationPolicy.TRUNCATE, null,
                    2048, 32), List.of(TestData.path("sharegpt_sample.jsonl").toString(),
                    TestData.path("ultrachat_sample.jsonl").toString()), features, 2, 64L << 20);
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

    @Test
    void aResumedRunEqualsAnUninterruptedOne() throws Exception {
        runs.assertResumeIsExact(tmp.resolve("ck-straight").toString(), tmp.resolve("ck-crashed").toString(), 3, null,
                null);
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
    }
}
