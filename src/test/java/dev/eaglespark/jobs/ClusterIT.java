package dev.eaglespark.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdOutputStream;
import dev.eaglespark.testutil.StandaloneCluster;
import dev.eaglespark.testutil.TorchNodeInstall;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployable jar on a real standalone Spark cluster: a Master and two one-core Workers, each a
 * JVM of its own, so the driver, the two executors and this test share no working directory,
 * cache, classpath or memory. Every stage goes through {@code jobs/submit.sh} with the demo
 * config, unchanged, from a working directory outside the checkout and with relative paths on
 * the command line; the demo model exists only in the driver's cache. Checked: features with bad
 * records and compressed input reject and count exactly as local mode does, the vocab stage reads
 * them, two training workers end with the export one worker with two micro-batches ends with,
 * byte for byte, and with one executor killed (SIGKILL) mid-training Spark reruns the stage,
 * which resumes from the last checkpoint and ends with the same export. A failure no retry can
 * fix ends the application at once, with its cause in the driver's error.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
    private static final Path REPO = Path.of(System.getProperty("eaglespark.repo", ".")).toAbsolutePath().normalize();
    private static final Path DEMO = REPO.resolve("conf/jobs/demo.conf");
    /** Far above a stage's time on an idle 2-core machine (under a minute): a limit for a hung run only. */
    private static final Duration STAGE_LIMIT = Duration.ofMinutes(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Training: 8 updates of 2 x 1 rows, a checkpoint every 2; within the first epoch of the 19
     * samples, where two ranks and one rank take the same samples in every update (the odd one out
     * at an epoch's end falls to different updates).
     */
    private static final String[] TRAINING = {"--steps", "8", "--checkpoint-every", "2", "--micro-batch", "1",
        "--warmup", "2"};

    @TempDir
    static Path tmp;
    private static StandaloneCluster cluster;
    /** The applications' working directory: not the checkout. */
    private static Path cwd;

    @BeforeAll
    static void startCluster() throws Exception {
        cwd = Files.createDirectories(tmp.resolve("work"));
        cluster = StandaloneCluster.start(tmp.resolve("cluster"), REPO.resolve("target/provided/spark"), 2, 1, "2g",
                Map.of("EAGLESPARK_CACHE", Files.createDirectories(tmp.resolve("executor-cache")).toString()));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static StandaloneCluster.Run onCluster(String name, Map<String, String> env, String... args)
            throws Exception {
        return cluster.run(REPO, cwd, tmp.resolve(name + ".log"), env, STAGE_LIMIT, withDemoConfig(args));
    }

    /** The same through submit.sh's local mode (plain java with target/provided on the classpath). */
    private static StandaloneCluster.Run locally(String name, String... args) throws Exception {
        Map<String, String> env = cluster.appEnv();
        env.put("SPARK_MASTER", "local[2]");
        env.put("JAVA_OPTS", "-Xmx2g -Dai.djl.offline=true");
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of("bash", REPO.resolve("jobs/submit.sh")
                .toString()))).directory(cwd.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(name + ".log").toFile());
        pb.command().addAll(List.of(withDemoConfig(args)));
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(STAGE_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
            StandaloneCluster.kill(p.toHandle());
            throw new AssertionError(name + " ran past " + STAGE_LIMIT);
        }
        return new StandaloneCluster.Run(p.exitValue(), Files.readString(tmp.resolve(name + ".log")));
    }

    private static String[] withDemoConfig(String... args) {
        List<String> all = new ArrayList<>(List.of(args[0], "--config", DEMO.toString()));
        all.addAll(List.of(args).subList(1, args.length));
        return all.toArray(String[]::new);
    }

    private static void assertOk(StandaloneCluster.Run r) {
        assertEquals(0, r.exit(), r.output());
    }

    /**
     * On a cluster Spark's jars come first; the build takes Spark's version of each library both use,
     * so every such library on the tests' classpath must be the cluster's very jar. (jakarta.annotation-api
     * differs on purpose: the tests use 2.0.0's jakarta packages for S3Proxy, Spark 1.3.5's javax ones.)
     */
    @Test
    @Order(0)
    void theTestsRunWithTheClustersLibraryVersions() throws Exception {
        List<String> spark;
        try (Stream<Path> jars = Files.list(REPO.resolve("target/provided/spark"))) {
            spark = jars.map(p -> p.getFileName().toString()).toList();
        }
        int shared = 0;
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path jar = Path.of(entry);
            Path artifactDir = jar.getParent() == null ? null : jar.getParent().getParent();
            if (!entry.endsWith(".jar") || artifactDir == null) {
                continue;
            }
            // The cluster's jar of the same group and artifact: one in this artifact's directory of the repository.
            List<String> same = new ArrayList<>();
            try (Stream<Path> versions = Files.list(artifactDir)) {
                for (Path v : versions.filter(Files::isDirectory).toList()) {
                    spark.stream().filter(n -> Files.exists(v.resolve(n))).forEach(same::add);
                }
            }
            if (!same.isEmpty() && !artifactDir.getFileName().toString().equals("jakarta.annotation-api")) {
                shared++;
                assertTrue(same.contains(jar.getFileName().toString()), "the tests load " + jar.getFileName()
                        + ", a cluster " + same);
            }
        }
        assertTrue(shared > 100, "only " + shared + " of Spark's jars found on the test classpath");
    }

    @Test
    @Order(1)
    void featuresRejectAndCountAsInLocalMode() throws Exception {
        Path in = Files.createDirectories(cwd.resolve("in"));
        List<String> share = Files.readAllLines(REPO.resolve("src/test/resources/data/sharegpt_sample.jsonl"));
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(in.resolve("share.jsonl.gz")))) {
            out.write((String.join("\n", share.subList(0, 14)) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        List<String> mixed = new ArrayList<>(Files.readAllLines(REPO.resolve(
                "src/test/resources/data/ultrachat_sample.jsonl")).subList(0, 8));
        mixed.add(2, "{\"id\": \"broken\", \"conversations\": [");
        mixed.add(4, "{\"id\": \"user-only\", \"conversations\": [{\"from\": \"human\", \"value\": \"Anyone?\"}]}");
        mixed.add(6, "{\"id\": \"empty\", \"conversations\": []}");
        mixed.add("{\"id\": \"narrator\", \"conversations\": [{\"from\": \"narrator\", \"value\": \"Once\"}, "
                + "{\"from\": \"gpt\", \"value\": \"x\"}]}");
        try (OutputStream out = new ZstdOutputStream(Files.newOutputStream(in.resolve("mixed.jsonl.zst")))) {
            out.write((String.join("\n", mixed) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        // Relative paths: the driver makes them absolute; executors run in their own directories.
        String[] args = {"features", "--input", "in/*.jsonl.*", "--max-length", "128", "--row-group-mb", "0"};
        StandaloneCluster.Run run = onCluster("features", cluster.appEnv(), concat(args, "--output", "features"));
        assertOk(run);
        assertOk(locally("features-local", concat(args, "--output", "features-local")));

        JsonNode counts = manifest("features").get("counts");
        assertEquals(manifest("features-local").get("counts"), counts, "counts as in local mode");
        // 14 + 8 good conversations, 3 of which keep no answer token within 128 tokens.
        assertEquals(19, counts.get("rows").asLong(), run.output());
        assertEquals(Map.of("malformed_json", 1L, "one_sided", 1L, "empty_conversation", 1L, "unknown_role", 1L,
                "no_assistant_tokens", 3L), rejectCounts("features"));
        assertEquals(rejects("features-local"), rejects("features"), "the same rejects, with their reasons");
        for (Path worker : cluster.workerDirs()) {
            try (Stream<Path> files = Files.walk(worker)) {
                assertFalse(files.anyMatch(p -> p.getFileName().toString().equals("_rejects")),
                        "rejects written into an executor's working directory under " + worker);
            }
        }
        // The demo model reached the executors with the application, not through their caches.
        for (Path worker : cluster.workerDirs()) {
            try (Stream<Path> files = Files.walk(worker)) {
                assertTrue(files.anyMatch(p -> p.endsWith("stories15M/model.safetensors")),
                        "no shipped stories15M under " + worker);
            }
        }
        try (Stream<Path> files = Files.walk(tmp.resolve("executor-cache"))) {
            assertEquals(1, files.count(), "the executors' caches stay empty");
        }
        // Executors log with conf/log4j2.xml (its pattern, eaglespark's INFO lines), not Spark's profile.
        assertTrue(Pattern.compile("(?m)^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\w+ - ")
                .matcher(cluster.executorLogs()).find(), cluster.executorLogs());
    }

    @Test
    @Order(2)
    void vocabReadsTheFeatures() throws Exception {
        assertOk(onCluster("vocab", cluster.appEnv(), "vocab", "--features", "features", "--output", "vocab", "--size", "500"));
        JsonNode v = JSON.readTree(cwd.resolve("vocab/vocab.json").toFile());
        assertEquals(500, v.get("draft_vocab_size").asInt());
        assertEquals(manifest("features").get("counts").get("masked_tokens").asLong(), v.get("masked_tokens").asLong());
    }

    @Test
    @Order(3)
    void twoWorkersExportWhatOneWorkerWithTwoMicroBatchesExports() throws Exception {
        assertOk(onCluster("train-two", cluster.appEnv(), concat(concat(new String[] {"train"}, TRAINING), "--features",
                "features", "--vocab", "vocab/vocab.safetensors", "--checkpoints", "ck-two", "--export", "draft-two",
                "--workers", "2")));
        assertOk(locally("train-one", concat(concat(new String[] {"train"}, TRAINING), "--features", "features",
                "--vocab", "vocab/vocab.safetensors", "--checkpoints", "ck-one", "--export", "draft-one", "--workers",
                "1", "--accumulation", "2")));
        assertTrue(Files.exists(cwd.resolve("ck-two/step-00000004/_COMMITTED")));
        assertSameFiles(cwd.resolve("draft-one"), cwd.resolve("draft-two"));
    }

    @Test
    @Order(4)
    void aKilledExecutorCostsOnlyTheUpdatesSinceTheLastCheckpoint() throws Exception {
        // This run takes libtorch from a node install (as the GPU image does) instead of the natives jar.
        Map<String, String> env = cluster.appEnv();
        env.putAll(TorchNodeInstall.create(REPO, tmp.resolve("libtorch")));
        Path ckpt = cwd.resolve("ck-kill");
        Path log = tmp.resolve("train-kill.log");
        Process app = cluster.submit(REPO, cwd, log, env, withDemoConfig(concat(concat(new String[] {"train"},
                TRAINING), "--features", "features", "--vocab", "vocab/vocab.safetensors", "--checkpoints", "ck-kill",
                "--export", "draft-kill", "--workers", "2")));
        Path first = ckpt.resolve("step-00000002/_COMMITTED");
        long deadline = System.nanoTime() + STAGE_LIMIT.toNanos();
        while (!Files.exists(first) && app.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(Files.exists(first), "no first checkpoint:\n" + Files.readString(log));
        List<ProcessHandle> executors = cluster.executors();
        assertEquals(2, executors.size(), "executor JVMs");
        String newest = newestCheckpoint(ckpt);
        StandaloneCluster.kill(executors.get(1));
        assertFalse(Files.exists(ckpt.resolve("step-00000008/_COMMITTED")), "the kill came after the end");

        assertTrue(app.waitFor(STAGE_LIMIT.toMillis(), TimeUnit.MILLISECONDS), "the retried stage ran too long");
        String out = Files.readString(log);
        assertEquals(0, app.exitValue(), out);
        Matcher resumed = Pattern.compile("resumed from \\S*(step-\\d{8}) \\(step").matcher(cluster.executorLogs());
        assertTrue(resumed.find(), "no resume in the executor logs");
        assertEquals(newest, resumed.group(1), "resumed from the newest checkpoint at the time of the kill");
        String csv = Files.readString(ckpt.resolve("metrics.csv"));
        assertEquals(9, csv.lines().count(), "header and updates 1..8 once each:\n" + csv);
        assertSameFiles(cwd.resolve("draft-two"), cwd.resolve("draft-kill"));
    }

    @Test
    @Order(5)
    void aCorruptModelFailsTheStageAtOnceWithItsCause() throws Exception {
        Path model = Files.createDirectories(cwd.resolve("corrupt-model"));
        Path demo = dev.eaglespark.io.CacheDir.root().resolve("models/stories15M");
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(demo.resolve(f), model.resolve(f));
        }
        Files.writeString(model.resolve("model.safetensors"), "not a safetensors file");
        StandaloneCluster.Run run = onCluster("features-corrupt", cluster.appEnv(), "features", "--model", "corrupt-model",
                "--input", "in/share.jsonl.gz", "--output", "features-corrupt");
        assertEquals(1, run.exit(), run.output());
        assertTrue(run.output().contains("failed with an error no retry can fix"), run.output());
        assertTrue(run.output().contains("model.safetensors"), "the cause names the file:\n" + run.output());
    }

    private static String newestCheckpoint(Path ckpt) throws IOException {
        try (Stream<Path> dirs = Files.list(ckpt)) {
            return dirs.filter(d -> Files.exists(d.resolve("_COMMITTED"))).map(d -> d.getFileName().toString())
                    .max(String::compareTo).orElseThrow();
        }
    }

    private static JsonNode manifest(String features) throws IOException {
        return JSON.readTree(cwd.resolve(features).resolve("_manifest.json").toFile());
    }

    private static Map<String, Long> rejectCounts(String features) throws IOException {
        Map<String, Long> counts = new TreeMap<>();
        manifest(features).get("rejects").fields().forEachRemaining(e -> counts.put(e.getKey(), e.getValue().asLong()));
        return counts;
    }

    /** Every rejects line, sorted (the part files follow the input splits). */
    private static List<String> rejects(String features) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(cwd.resolve(features).resolve("_rejects"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList()) {
                lines.addAll(Files.readAllLines(f));
            }
        }
        lines.sort(null);
        return lines;
    }

    private static void assertSameFiles(Path expected, Path actual) throws IOException {
        try (Stream<Path> files = Files.list(expected)) {
            // the publisher's marker records when and by which run the output was written: not the draft
            List<Path> names = files.map(Path::getFileName).filter(n -> !n.toString().startsWith("."))
                    .filter(n -> !n.toString().equals(dev.eaglespark.io.OutputPublisher.MARKER)).sorted().toList();
            assertFalse(names.isEmpty(), "nothing in " + expected);
            for (Path name : names) {
                assertArrayEquals(Files.readAllBytes(expected.resolve(name)), Files.readAllBytes(actual.resolve(name)),
                        name + " byte for byte");
            }
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
