package dev.eaglespark.features;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eaglespark.testutil.LogCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an input directory holds besides conversation files (Spark's _SUCCESS, checksums,
 * hidden files, subdirectories) is skipped, never silently: the log counts and names it, a
 * warning when a subdirectory (data, maybe) is left unread. Local files; well under a second.
 */
class HostileInputDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void skippedEntriesAreCountedAndLogged() throws IOException {
        Files.writeString(dir.resolve("part-0.jsonl"), "{}\n");
        Files.writeString(dir.resolve("part-1.jsonl"), "{}\n");
        Files.writeString(dir.resolve("_SUCCESS"), "");
        Files.writeString(dir.resolve(".draft.jsonl"), "");
        Files.createDirectories(dir.resolve("more")).resolve("part-2.jsonl").toFile().createNewFile();
        Configuration conf = new Configuration();

        InputPlanner.Listing l = InputPlanner.list(List.of(dir.toString()), conf);
        assertEquals(List.of("part-0.jsonl", "part-1.jsonl"), l.files().stream().map(p -> p.getName()).toList());
        assertEquals(3, l.skipped().size(), l.skipped().toString());
        assertTrue(l.skipped().stream().anyMatch(s -> s.endsWith("/more/")), "subdirectories end in '/'");

        try (LogCapture log = new LogCapture(InputPlanner.class)) {
            assertEquals(l.files(), InputPlanner.files(List.of(dir.toString()), conf));
            assertTrue(log.text().startsWith("WARN input: skipped 3 entries of input directories"), log.text());
            assertTrue(log.text().contains("_SUCCESS") && log.text().contains(".draft.jsonl"), log.text());
        }
        Files.delete(dir.resolve("more/part-2.jsonl"));
        Files.delete(dir.resolve("more"));
        try (LogCapture log = new LogCapture(InputPlanner.class)) {
            InputPlanner.files(List.of(dir.toString()), conf);
            assertTrue(log.text().startsWith("INFO input: skipped 2 entries"), "markers alone: info, " + log.text());
        }
    }
}
