package dev.eaglespark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jobs/nightly.sh end to end on stories15M in local mode: two good nights (the second resumes the
 * first's checkpoints), a failed stage and a tau regression, neither of which moves latest. The
 * stages run with the test classpath (target/classes and the dependencies), so no jar is needed.
 */
class NightlyScriptTest {
    @TempDir
    Path tmp;

    private static final String SETTINGS = """
            model = stories15M
            target = stories15M
            regenerate.max-new-tokens = 24
            regenerate.max-prompt-tokens = 160
            features.max-length = 128
            vocab.size = 400
            train.steps = 3
            train.micro-batch = 2
            train.lr = 2e-3
            train.warmup = 1
            evaluate.prompts = %s
            evaluate.limit = 2
            evaluate.max-new-tokens = 12
            evaluate.k = 3
            """;

    private record Night(int exit, String log) {}

    private Night night(String date, Path conf, String maxTauDrop) throws Exception {
        Path log = tmp.resolve(date + ".log");
        ProcessBuilder pb = new ProcessBuilder("bash", "jobs/nightly.sh", conf.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("NIGHTLY_ROOT", tmp.resolve("root").toString());
        env.put("NIGHTLY_DATE", date);
        env.put("MAX_TAU_DROP", maxTauDrop);
        env.put("SPARK_MASTER", "local[2]");
        env.put("EAGLESPARK_CLASSPATH", System.getProperty("java.class.path"));
        // The main logging set-up (INFO), not the tests' quiet one: the log shows the resume.
        env.put("JAVA_OPTS", "-Xmx2g -Dai.djl.offline=true -Dlog4j2.configurationFile="
                + Path.of("target/classes/log4j2.xml").toAbsolutePath() + " -Deaglespark.cache="
                + System.getProperty("eaglespark.cache", System.getProperty("user.home") + "/.cache/eaglespark"));
        Process p = pb.start();
        assertTrue(p.waitFor(4, TimeUnit.MINUTES), "night " + date + " took too long");
        return new Night(p.exitValue(), Files.readString(log));
    }

    private Path config(String name, String input) throws Exception {
        return Files.writeString(tmp.resolve(name), "regenerate.input = " + input + "\n"
                + SETTINGS.formatted(Path.of("src/test/resources/data/mt_bench_questions.jsonl").toAbsolutePath()));
    }

    private String latest() throws Exception {
        return Files.readString(tmp.resolve("root/latest")).strip();
    }

    private Path run(String date) {
        return tmp.resolve("root/runs/" + date).toAbsolutePath();
    }

    @Test
    void twoGoodNightsThenAFailedStageAndATauRegression() throws Exception {
        Path conversations = tmp.resolve("conversations.jsonl");
        List<String> sample = Files.readAllLines(Path.of("src/test/resources/data/sharegpt_sample.jsonl"));
        Files.write(conversations, sample.subList(0, 6));
        Path conf = config("nightly.conf", conversations.toString());
        Path ckpt = tmp.resolve("root/checkpoints");

        Night n1 = night("2026-01-01", conf, "0.05");
        assertEquals(0, n1.exit(), n1.log());
        assertEquals(run("2026-01-01").toString(), latest());
        assertTrue(Files.exists(ckpt.resolve("step-00000003/_COMMITTED")), n1.log());

        // A few updates move tau by noise: this night checks resuming; the gate is checked below.
        Night n2 = night("2026-01-02", conf, "0.9");
        assertEquals(0, n2.exit(), n2.log());
        assertTrue(n2.log().contains("training from step 3 to 6"), n2.log());
        assertTrue(n2.log().matches("(?s).*resumed from \\S*step-00000003 \\(step 3.*"), n2.log());
        assertTrue(Files.exists(ckpt.resolve("step-00000006/_COMMITTED")), n2.log());
        assertEquals(run("2026-01-02").toString(), latest());

        Night failed = night("2026-01-03", config("broken.conf", tmp.resolve("missing.jsonl").toString()), "0.05");
        assertEquals(1, failed.exit(), failed.log());
        assertTrue(failed.log().contains("stage regenerate failed; latest unchanged"), failed.log());
        assertEquals(run("2026-01-02").toString(), latest());

        // The run latest points to claims a tau no draft reaches: tonight's must count as a regression.
        Files.writeString(run("2026-01-02").resolve("evaluation.json"), "{\"trained\" : {\"tau\" : 100.0}}");
        Night worse = night("2026-01-04", conf, "0.05");
        assertEquals(3, worse.exit(), worse.log());
        assertTrue(worse.log().contains("regressed more than 0.05 below 100.0"), worse.log());
        assertEquals(run("2026-01-02").toString(), latest());
        assertTrue(Files.exists(run("2026-01-04").resolve("evaluation.json")), "the night itself ran to the end");
        assertTrue(new File(latest()).isDirectory());
    }
}
