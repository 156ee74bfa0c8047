package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.spark.VocabJob;
import dev.eaglespark.vocab.DraftVocab;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM (how YARN and Kubernetes stop executors) sent to a training JVM mid-update, again and
 * again on one checkpoint directory: every try must exit as a SIGTERM'd JVM does (143), never
 * with a native crash (no hs_err file, no SIGSEGV), and leave committed checkpoints only; the
 * next try resumes from the newest (so it loads, and the lease was released). CI runs 3 tries
 * (about 10 s each); {@code -Dsigterm.tries=10} runs the 10:
 * {@code mvn -o -q -Dtest=TrainingSigtermTest -Dsigterm.tries=10 test}.
 */
class TrainingSigtermTest {
    private static final int TRIES = Integer.getInteger("sigterm.tries", 3);
    @TempDir
    static Path tmp;
    private static String features;
    private static Path model;

    @BeforeAll
    static void makeFeatures() throws Exception {
        model = Stories15M.ensure();
        features = TrainingRuns.sampleFeatures(tmp, 12, 64L << 20,
                (spark, f) -> VocabJob.run(spark, f, tmp.resolve("vocab").toString(), 500));
    }

    @Test
    void sigtermMidUpdateExitsCleanlyAndLeavesALoadableCheckpoint() throws Exception {
        Path ck = tmp.resolve("checkpoints");
        long lastStep = 0;
        for (int i = 0; i < TRIES; i++) {
            Path log = tmp.resolve("try-" + i + ".log");
            Path errors = Files.createDirectories(tmp.resolve("errors-" + i));
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-Xmx1g", "-Dai.djl.offline=true", "-XX:ErrorFile=" + errors + "/hs_err_%p.log",
                    "-Deaglespark.cache=" + System.getProperty("eaglespark.cache",
                            System.getProperty("user.home") + "/.cache/eaglespark"),
                    "-cp", System.getProperty("java.class.path"), TrainingProcess.class.getName(), features,
                    model.toString(), tmp.resolve("vocab/" + DraftVocab.FILE).toString(), ck.toString()));
            Process p = new ProcessBuilder(cmd).directory(errors.toFile()).redirectErrorStream(true).start();
            StringBuilder out = new StringBuilder();
            int updates = 0;
            // Aim between updates' boundaries: after the first update of this try, a few more
            // milliseconds each try so the signal lands at different points of the next update.
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    out.append(line).append('\n');
                    if (line.startsWith("update ") && ++updates == 1 + i % 2) {
                        Thread.sleep(37L * i % 200);
                        p.toHandle().destroy(); // SIGTERM (Process.destroy would also close our pipe)
                    }
                }
            }
            assertTrue(p.waitFor(2, TimeUnit.MINUTES), "try " + i + " did not exit:\n" + out);
            Files.writeString(log, out);
            String text = out.toString();
            assertTrue(updates > 0, "try " + i + " never trained:\n" + text);
            try (var crashes = Files.list(errors)) {
                assertEquals(List.of(), crashes.filter(f -> f.getFileName().toString().startsWith("hs_err"))
                        .toList(), "try " + i + ": a native crash report\n" + text);
            }
            assertFalse(text.contains("SIGSEGV") || text.contains("A fatal error"), "try " + i + ":\n" + text);
            assertEquals(143, p.exitValue(), "try " + i + " exits as a SIGTERM'd JVM does:\n" + text);
            System.out.println("SIGTERM try " + (i + 1) + " of " + TRIES + ": exit 143, no crash");
            assertTrue(text.contains("stopping at the next update boundary"), text);

            Checkpoints ckpts = new Checkpoints(ck.toString(), new Configuration());
            Path newest = Path.of(java.net.URI.create(ckpts.latest().toUri().toString()));
            long step = Long.parseLong(newest.getFileName().toString().substring("step-".length()));
            assertTrue(step > lastStep, "try " + i + " committed past step " + lastStep + ": " + newest);
            lastStep = step;
            try (var dirs = Files.list(ck)) {
                for (Path d : dirs.filter(d -> d.getFileName().toString().startsWith("step-")).toList()) {
                    assertTrue(Files.exists(d.resolve(Checkpoints.MARKER)), "only committed checkpoints: " + d);
                }
            }
            assertFalse(Files.exists(ck.resolve(CheckpointLease.FILE)), "the lease was released");
        }
        assertLoads(ck, lastStep);
    }

    /** The newest checkpoint loads into arrays of its recorded shapes. */
    private static void assertLoads(Path ck, long step) throws Exception {
        Checkpoints ckpts = new Checkpoints(ck.toString(), new Configuration());
        org.apache.hadoop.fs.Path newest = ckpts.latest();
        assertNotNull(newest);
        var state = new ObjectMapper().readTree(newest.getFileSystem(new Configuration())
                .open(new org.apache.hadoop.fs.Path(newest, "state.json")));
        assertEquals(step, state.get("step").asLong());
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); AdamW opt = new AdamW(m, 0.9, 0.95, 1e-8, 0);
             var f = dev.eaglespark.tensors.SafeTensorsFile.open(Path.of(newest.toUri()).resolve(
                     "model.safetensors"))) {
            Map<String, NDArray> into = new LinkedHashMap<>();
            f.tensors().forEach((name, info) -> into.put(name, m.zeros(new Shape(info.shape()))));
            Checkpoints.State st = ckpts.load(newest, into, opt, m);
            assertEquals(step, st.step());
            assertEquals(step, opt.steps());
        }
    }
}
