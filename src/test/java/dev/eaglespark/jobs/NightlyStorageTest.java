package dev.eaglespark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eaglespark.testutil.MiniHdfs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Hadoop branches of jobs/nightly.sh's storage helpers (jobs/lib/fs.sh) against an HDFS
 * in this JVM, through the real {@code hadoop fs} CLI: Hadoop's FsShell from the client jars,
 * started by a two-line {@code hadoop} script on PATH with the test classpath. The local
 * branches run in {@link NightlyScriptTest}'s nights.
 */
class NightlyStorageTest {
    /** The CLI reads its configuration directory first, as Hadoop's own launcher script puts it. */
    private static final String HADOOP = """
            #!/usr/bin/env bash
            [[ $1 == fs ]] || { echo "this hadoop has only 'fs'" >&2; exit 2; }
            shift
            exec "$JAVA" -Xmx256m -cp "$HADOOP_CONF_DIR:$TEST_CLASSPATH" org.apache.hadoop.fs.FsShell "$@"
            """;

    @TempDir
    static Path tmp;
    private static MiniHdfs hdfs;
    private static FileSystem fs;
    private static String root;

    @BeforeAll
    static void start() throws Exception {
        hdfs = MiniHdfs.start(tmp.resolve("hdfs").toFile());
        root = hdfs.root();
        fs = new org.apache.hadoop.fs.Path(root).getFileSystem(new Configuration());
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Files.writeString(bin.resolve("hadoop"), HADOOP);
        Files.setPosixFilePermissions(bin.resolve("hadoop"), PosixFilePermissions.fromString("rwxr-xr-x"));
        // A client's configuration directory; the URIs name the namenode, so it holds no settings.
        Path conf = Files.createDirectories(tmp.resolve("hadoop-conf"));
        for (String site : List.of("core-site.xml", "hdfs-site.xml")) {
            Files.writeString(conf.resolve(site), "<configuration/>\n");
        }
    }

    @AfterAll
    static void stop() {
        hdfs.close();
    }

    /** Runs bash lines with the helpers sourced; returns what they print on stdout. */
    private static String sh(String script) throws Exception {
        Path err = Files.createTempFile(tmp, "stderr", ".txt");
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "set -euo pipefail\nsource jobs/lib/fs.sh\n" + script)
                .redirectError(err.toFile());
        pb.environment().put("PATH", tmp.resolve("bin") + ":" + System.getenv("PATH"));
        pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        pb.environment().put("TEST_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("HADOOP_CONF_DIR", tmp.resolve("hadoop-conf").toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), script + "\n" + out + Files.readString(err));
        return out;
    }

    private static void write(String path, String text) throws IOException {
        try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(path), true)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String read(String path) throws IOException {
        try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(path))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static List<String> names(String dir) throws IOException {
        return Arrays.stream(fs.listStatus(new org.apache.hadoop.fs.Path(dir))).map(FileStatus::getPath)
                .map(org.apache.hadoop.fs.Path::getName).sorted().toList();
    }

    @Test
    void latestIsWrittenAndReadBack() throws Exception {
        String latest = root + "/latest";
        sh("fs_write " + latest + " " + root + "/runs/2026-01-01\nfs_write " + latest + " " + root + "/runs/2026-01-02");
        assertEquals(root + "/runs/2026-01-02\n", read(latest), "replaced, one line");
        assertEquals(root + "/runs/2026-01-02\n", sh("fs_cat " + latest));
        assertEquals("remote\nlocal\nlocal\n",
                sh("remote " + latest + " && echo remote; remote /x/y || echo local; remote file:///x || echo local"));
    }

    @Test
    void thePinnedVocabularyReplacesTheOldOne() throws Exception {
        write(root + "/runs/a/vocab/vocab.safetensors", "new tensors");
        write(root + "/runs/a/vocab/vocab.json", "{}");
        write(root + "/pinned/vocab/stale.txt", "old");
        sh("fs_replace_dir " + root + "/runs/a/vocab " + root + "/pinned/vocab");
        assertEquals(List.of("vocab.json", "vocab.safetensors"), names(root + "/pinned/vocab"));
        assertEquals("new tensors", read(root + "/pinned/vocab/vocab.safetensors"));
    }

    @Test
    void theNewestCommittedCheckpointIsFound() throws Exception {
        String ckpt = root + "/checkpoints";
        assertEquals("0\n", sh("last_step " + ckpt), "no checkpoints yet");
        write(ckpt + "/step-00000003/_COMMITTED", "");
        write(ckpt + "/step-00000010/_COMMITTED", "");
        write(ckpt + "/step-00000012/model.safetensors", "half written, no marker");
        assertEquals("10\n", sh("last_step " + ckpt));
    }

    @Test
    void theDraftComesDownAndTheReportGoesUp() throws Exception {
        write(root + "/run/draft/config.json", "{\"architectures\": []}");
        write(root + "/run/draft/model.safetensors", "weights");
        write(root + "/run/evaluation.json", "stale");
        Path local = Files.createDirectories(tmp.resolve("eval"));
        Files.writeString(local.resolve("evaluation.json"), "{\"trained\": {\"tau\": 2.5}}");
        sh("fs_get " + root + "/run/draft " + local.resolve("draft") + "\nfs_put " + local.resolve("evaluation.json")
                + " " + root + "/run/evaluation.json");
        assertEquals("weights", Files.readString(local.resolve("draft/model.safetensors")));
        assertEquals("{\"trained\": {\"tau\": 2.5}}", read(root + "/run/evaluation.json"));
    }
}
