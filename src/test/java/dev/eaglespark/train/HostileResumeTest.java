package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eaglespark.testutil.LogCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --resume} on a directory with nothing to resume starts a fresh run, with a warning
 * that names the directory and what it holds (a mistyped path shows). Well under a second.
 */
class HostileResumeTest {
    @TempDir
    Path tmp;

    @Test
    void resumingFromNothingStartsFreshWithAWarning() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("ckpt"));
        Files.createDirectories(tmp.resolve("partial/step-00000010")); // never committed
        String[][] cases = {{empty.toString(), "the directory is empty"},
            {tmp.resolve("typo").toString(), "the directory does not exist"},
            {tmp.resolve("partial").toString(), "1 entries, none a committed step directory"}};
        for (String[] c : cases) {
            try (LogCapture log = new LogCapture(Checkpoints.class)) {
                assertNull(new Checkpoints(c[0], new Configuration()).startingPoint(true));
                assertTrue(log.text().startsWith("WARN --resume: no committed checkpoint under "), log.text());
                assertTrue(log.text().contains(c[1]) && log.text().contains("starting a fresh run"), log.text());
            }
            try (LogCapture log = new LogCapture(Checkpoints.class)) {
                assertNull(new Checkpoints(c[0], new Configuration()).startingPoint(false));
                assertTrue(log.text().isEmpty(), "a fresh run asked for: nothing to say, " + log.text());
            }
        }
    }
}
