package dev.eaglespark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The Spark stages' --device is checked before any Spark work: a bad value is a usage error (exit 2). */
class DeviceOptionTest {
    private static String usageError(String... argv) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, Main.run(argv), String.join(" ", argv));
        } finally {
            System.setErr(old);
        }
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void regenerateFeaturesAndTrainRefuseAnUnknownDevice() {
        String expected = "option --device: must be auto, gpu or cpu, got 'tpu'";
        String[][] commands = {
            {"regenerate", "--model", "m", "--input", "in.jsonl", "--output", "out", "--device", "tpu"},
            {"features", "--model", "m", "--input", "in.jsonl", "--output", "out", "--device", "tpu"},
            {"train", "--features", "f", "--target", "t", "--vocab", "v", "--checkpoints", "c", "--device", "tpu"},
        };
        for (String[] argv : commands) {
            String err = usageError(argv);
            assertTrue(err.contains("eaglespark " + argv[0] + ": " + expected), err);
        }
    }
}
