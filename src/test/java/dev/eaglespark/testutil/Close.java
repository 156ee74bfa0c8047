package dev.eaglespark.testutil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.eaglespark.tensors.SafeTensorsFile;
import java.nio.file.Path;

/** Comparisons against reference values with an explicit, stated tolerance. */
public final class Close {
    private Close() {}

    /**
     * Passes when max|actual - expected| <= rel * max|expected|: the error measured against the
     * tensor's own scale, so near-zero entries do not demand impossible precision.
     */
    public static double assertRelative(String what, float[] expected, float[] actual, double rel) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + " != expected " + expected.length);
        }
        double scale = 0;
        double maxDiff = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double diff = Math.abs((double) actual[i] - expected[i]);
            if (!(diff <= maxDiff)) {
                maxDiff = diff;
                worst = i;
            }
        }
        double err = scale == 0 ? maxDiff : maxDiff / scale;
        if (!(err <= rel)) {
            fail(String.format("%s: relative error %.3e > %.1e (worst at %d: expected %s, got %s, scale %.3e)",
                    what, err, rel, worst, expected[worst], actual[worst], scale));
        }
        return err;
    }

    /**
     * The largest difference between two safetensors files' tensors of the same names, each
     * relative to the first file's largest magnitude in that tensor.
     */
    public static double maxRelativeDifference(Path a, Path b) throws Exception {
        double worst = 0;
        try (SafeTensorsFile x = SafeTensorsFile.open(a);
             SafeTensorsFile y = SafeTensorsFile.open(b)) {
            assertEquals(x.tensors().keySet(), y.tensors().keySet());
            for (String name : x.tensors().keySet()) {
                float[] p = x.readFloats(name);
                float[] q = y.readFloats(name);
                double scale = 0;
                for (float v : p) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < p.length; i++) {
                    worst = Math.max(worst, Math.abs(p[i] - q[i]) / Math.max(scale, 1e-12));
                }
            }
        }
        return worst;
    }
}
