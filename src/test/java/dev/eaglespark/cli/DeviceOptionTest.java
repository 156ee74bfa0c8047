package dev.eaglespark.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The Spark stages' --device is checked before any Spark work: a bad value is a usage error (exit 2). */
class DeviceOptionTest {
    @Test
    void regenerateFeaturesAndTrainRefuseAnUnknownDevice() {
        String expected = "option --device: must be auto, gpu or cpu, got 'tpu'";
        String[][] commands = {
            {"regenerate", "--model", "m", "--input", "in.jsonl", "--output", "out", "--device", "tpu"},
            {"features", "--model", "m", "--input", "in.jsonl", "--output", "out", "--device", "tpu"},
            {"train", "--features", "f", "--target", "t", "--vocab", "v", "--checkpoints", "c", "--device", "tpu"},
        };
        for (String[] argv : commands) {
            String err = UsageErrors.of(argv);
            assertTrue(err.contains("eaglespark " + argv[0] + ": " + expected), err);
        }
    }
}
