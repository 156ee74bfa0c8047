package dev.eaglespark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.collective.CollectiveKind;
import dev.eaglespark.collective.WireType;
import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.TrainingSamples;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.TestData;
import dev.eaglespark.train.CheckpointLease;
import dev.eaglespark.train.FeatureDataset;
import dev.eaglespark.train.TrainJob;
import dev.eaglespark.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The train stage on Spark local mode: two barrier tasks with a ring all-reduce equal one
 * worker with the same global batch, and a task failing mid-training makes Spark retry the
 * stage, which resumes from the checkpoint and ends with the uninterrupted run's weights.
 */
class TrainStageTest {
    @TempDir
    static Path tmp;
    private static SparkSession spark;
    private static String features;
    private static String vocab;
    private static Path model;
    private static final AtomicInteger FAILED_TASKS = new AtomicInteger();
    /** The attempt number of every stage submitted, in order. */
    private static final List<Integer> STAGE_ATTEMPTS = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        model = Stories15M.ensure();
        // local[2,3]: two slots for the two barrier tasks, and task failures retried (local[2] gives up at once).
        spark = SparkSession.builder().master("local[2,3]").appName("train-stage-test")
                .config("spark.ui.enabled", "false").config("spark.plugins", JobPlugin.class.getName()).getOrCreate();
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.reason() != Success$.MODULE$) {
                    FAILED_TASKS.incrementAndGet();
                }
            }

            @Override
            public void onStageSubmitted(SparkListenerStageSubmitted submitted) {
                STAGE_ATTEMPTS.add(submitted.stageInfo().attemptNumber());
            }
        });
        features = tmp.resolve("features").toString();
        // One sample per row group: the unit of sharding is then one sample, as the equality needs.
        FeaturesJob.run(spark, new FeatureSettings(model.toString(), null, 128, TruncationPolicy.TRUNCATE, null,
                2048, 32), List.of(TestData.path("sharegpt_sample.jsonl").toString()), features, 2, 0);
        VocabJob.run(spark, features, tmp.resolve("vocab").toString(), 2000);
        vocab = tmp.resolve("vocab/vocab.safetensors").toString();
    }

    @AfterAll
    static void tearDown() {
        spark.stop();
    }

    private static TrainJob job(String ckpt, int accumulation) {
        TrainSettings s = TrainSettings.builder().tttLength(3).loss(LossType.FORWARD_KL).lr(2e-3).minLr(1e-4)
                .warmupSteps(1).weightDecay(0.01).accumulation(accumulation).seed(5).build();
        return new TrainJob(features, model.toString(), vocab, false, ckpt, 1, 4, 2, false, null,
                ServingEngine.SGLANG, s);
    }

    private static TrainStage.Summary train(TrainJob job, int workers) throws Exception {
        // --collective auto, as the command line's default: on CPU ranks every rank must choose the ring.
        return TrainStage.run(spark, job, new TrainStage.Workers(workers, "cpu", WireType.FP32,
                Duration.ofMinutes(2), CollectiveKind.AUTO));
    }

    @Test
    void oneSamplePerRowGroup() throws Exception {
        FeatureDataset data = FeatureDataset.open(features, new Configuration());
        assertEquals(data.rows(), data.units().size());
        assertTrue(data.rows() > 20, "rows: " + data.rows());
    }

    /**
     * Also with a validation split (here the first 7 training rows, for the mechanics): the two
     * ranks score 4 and 3 of them and their sums, combined over the ring, give what one worker
     * scoring all 7 gets, up to the weights' summation-order differences; so do the speculative
     * rounds each rank simulates on its own rows.
     */
    @Test
    void twoWorkersEqualOneWorkerWithTheSameGlobalBatch() throws Exception {
        String one = tmp.resolve("ck-one").toString();
        String two = tmp.resolve("ck-two").toString();
        TrainJob.Validation validation = new TrainJob.Validation(features, 0, 7, false);
        TrainStage.Summary a = train(job(one, 2).withValidation(validation), 1);
        TrainStage.Summary b = train(job(two, 1).withValidation(validation), 2);
        assertEquals(4, a.steps());
        assertEquals(4, b.steps());
        // Averaging two one-row gradients over the ring equals accumulating them at half weight
        // (halving is exact in binary floating point), so the weights agree to the last bit up to
        // summation order; the tolerance allows for that order.
        double diff = Close.maxRelativeDifference(Path.of(one, "step-00000004/model.safetensors"),
                Path.of(two, "step-00000004/model.safetensors"));
        System.out.printf("2 workers vs 1 worker x 2 micro-batches, after 4 updates: max relative difference %.3g%n",
                diff);
        assertTrue(diff < 1e-5, "max relative difference " + diff);
        for (String step : List.of("step-00000002", "step-00000004")) {
            JsonNode x = new ObjectMapper().readTree(Path.of(one, step, "state.json").toFile()).at("/extra/validation");
            JsonNode y = new ObjectMapper().readTree(Path.of(two, step, "state.json").toFile()).at("/extra/validation");
            assertEquals(7, x.get("rows").asLong());
            assertEquals(7, y.get("rows").asLong());
            assertEquals(x.get("tokens").asLong(), y.get("tokens").asLong());
            assertEquals(x.get("loss").asDouble(), y.get("loss").asDouble(), 1e-5 * x.get("loss").asDouble(), step);
            assertEquals(x.get("expected_acceptance_length").asDouble(), y.get("expected_acceptance_length").asDouble(),
                    1e-3, step);
            assertEquals(x.get("rounds").asLong(), y.get("rounds").asLong(), step);
            assertEquals(x.get("rounds_tau").asDouble(), y.get("rounds_tau").asDouble(), 1e-3, step);
            for (int k = 0; k < x.get("round_acceptance").size(); k++) {
                assertEquals(x.get("round_acceptance").get(k).asDouble(), y.get("round_acceptance").get(k).asDouble(),
                        1e-3, step + " position " + k);
            }
        }
        assertFalse(a.best().isNone() || b.best().isNone(), "both name a best checkpoint");
        assertTrue(Files.isRegularFile(Path.of(two, "best")));
    }

    /**
     * Online, with one conversation per input split (the finest unit), two ranks consume together
     * what one worker consumes with twice the accumulation, as offline. The input holds only
     * conversations that encode: a rejected one-line unit would shift the dealing between ranks.
     */
    @Test
    void onlineTwoWorkersEqualOneWorkerWithTheSameGlobalBatch() throws Exception {
        FeatureSettings settings = new FeatureSettings(model.toString(), null, 128, TruncationPolicy.TRUNCATE, null,
                0, 0);
        Path sample = TestData.path("sharegpt_sample.jsonl");
        List<String> all = Files.readAllLines(sample);
        List<String> lines = new ArrayList<>();
        try (SampleSource source = new SampleSource(model, settings);
             java.io.InputStream in = Files.newInputStream(sample)) {
            ConversationReader reader = new ConversationReader(in, sample.toString(), r -> { });
            while (reader.hasNext() && lines.size() < 16) {
                Conversation c = reader.next();
                if (TrainingSamples.encode(c, source.encoder(), r -> { }) != null) {
                    lines.add(all.get((int) c.line() - 1));
                }
            }
        }
        Path input = tmp.resolve("trainable.jsonl");
        Files.write(input, lines);
        TrainJob.OnlineInput in = new TrainJob.OnlineInput(List.of(input.toString()), settings, lines.size());
        String one = tmp.resolve("ck-online-one").toString();
        String two = tmp.resolve("ck-online-two").toString();
        train(online(job(one, 2), in), 1);
        train(online(job(two, 1), in), 2);
        double diff = Close.maxRelativeDifference(Path.of(one, "step-00000004/model.safetensors"),
                Path.of(two, "step-00000004/model.safetensors"));
        System.out.printf("online, 2 workers vs 1 worker x 2 micro-batches, after 4 updates: max relative "
                + "difference %.3g%n", diff);
        assertTrue(diff < 1e-5, "max relative difference " + diff);
    }

    private static TrainJob online(TrainJob j, TrainJob.OnlineInput in) {
        return new TrainJob(null, j.target(), j.vocab(), j.sharedHead(), j.checkpoints(), j.epochs(), j.maxSteps(),
                j.checkpointEvery(), j.resume(), j.export(), j.engine(), j.settings(), j.validation(), in);
    }

    @Test
    void aFailedTaskIsRetriedAndResumesFromTheCheckpoint() throws Exception {
        String straight = tmp.resolve("ck-straight").toString();
        String failing = tmp.resolve("ck-failing").toString();
        train(job(straight, 1), 2);
        int failedBefore = FAILED_TASKS.get();
        spark.conf().set(TrainStage.FAIL_AT_STEP_CONF, "3");
        try {
            train(job(failing, 1), 2);
        } finally {
            spark.conf().unset(TrainStage.FAIL_AT_STEP_CONF);
        }
        assertTrue(FAILED_TASKS.get() > failedBefore, "a task failed and the stage was retried");
        String csv = Files.readString(Path.of(failing, "metrics.csv"));
        assertEquals(5, csv.lines().count(), "header and updates 1..4 once each:\n" + csv);
        assertEquals(0.0, Close.maxRelativeDifference(Path.of(straight, "step-00000004/model.safetensors"),
                Path.of(failing, "step-00000004/model.safetensors")), "bit for bit; uninterrupted:\n"
                + Files.readString(Path.of(straight, "metrics.csv")) + "\nretried:\n" + csv);
        assertTrue(Files.exists(Path.of(failing, "training-curves.html")));
    }

    @Test
    void aFailureNoRetryCanFixEndsTheStageAtOnceWithItsCause() throws Exception {
        Path corrupt = Files.createDirectories(tmp.resolve("corrupt-target"));
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(model.resolve(f), corrupt.resolve(f));
        }
        Files.writeString(corrupt.resolve("model.safetensors"), "not a safetensors file");
        TrainJob job = job(tmp.resolve("ck-corrupt").toString(), 1).withTarget(corrupt.toString());
        int submittedBefore = STAGE_ATTEMPTS.size();
        Exception e = assertThrows(Exception.class, () -> train(job, 2));
        assertTrue(rootMessage(e).contains("no retry can fix") && rootMessage(e).contains("model.safetensors"),
                rootMessage(e));
        // Without the cancellation Spark would run the stage 4 times. The cancellation travels through
        // the listener bus while Spark resubmits the stage 200 ms after a failure: at most a second attempt starts.
        List<Integer> attempts = STAGE_ATTEMPTS.subList(submittedBefore, STAGE_ATTEMPTS.size());
        assertTrue(attempts.stream().allMatch(a -> a <= 1), "stage attempts " + attempts);
    }

    @Test
    void missingInputsFailOnTheDriverNamingTheOption() throws Exception {
        TrainJob job = job(tmp.resolve("ck-missing").toString(), 1);
        Exception e = assertThrows(java.io.FileNotFoundException.class, () -> TrainStage.requireInputs(
                new TrainJob(tmp.resolve("nothing").toString(), job.target(), job.vocab(), false, job.checkpoints(),
                        1, 4, 2, false, null, ServingEngine.SGLANG, job.settings()), new Configuration()));
        assertTrue(e.getMessage().startsWith("--features " + tmp.resolve("nothing") + " is not the output"),
                e.getMessage());
        e = assertThrows(java.io.FileNotFoundException.class, () -> TrainStage.requireInputs(
                job.withTarget(tmp.resolve("no-model").toString()), new Configuration()));
        assertTrue(e.getMessage().startsWith("--target"), e.getMessage());
    }

    @Test
    void aFreshRunRefusesADirectoryWithCheckpoints() throws Exception {
        String dir = tmp.resolve("ck-reused").toString();
        train(job(dir, 1), 1);
        Exception e = assertThrows(Exception.class, () -> train(job(dir, 1), 1));
        assertTrue(String.valueOf(rootMessage(e)).contains("--resume"), rootMessage(e));
    }

    @Test
    void aDirectoryAnotherApplicationHoldsIsRefusedBeforeTheStage() throws Exception {
        String dir = tmp.resolve("ck-held").toString();
        try (CheckpointLease other = CheckpointLease.acquire(dir, "application_9_0001", "1", new Configuration())) {
            Exception e = assertThrows(Exception.class, () -> train(job(dir, 1), 1));
            assertTrue(rootMessage(e).contains("in use by run application_9_0001"), rootMessage(e));
        }
        assertTrue(train(job(dir, 1), 1).steps() > 0, "free once released");
        assertFalse(Files.exists(Path.of(dir, CheckpointLease.FILE)), "the driver released its lease");
    }

    @Test
    void dynamicAllocationIsRefused() {
        SparkConf conf = new SparkConf().set("spark.dynamicAllocation.enabled", "true");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TrainStage.requireStaticAllocation(conf));
        assertTrue(e.getMessage().contains("spark.dynamicAllocation.enabled=false"), e.getMessage());
    }

    private static String rootMessage(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
        }
        return sb.toString();
    }
}
