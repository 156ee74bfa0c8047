package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.Collection;
import java.util.Map;

/** Global-norm clipping of both signs (DJL's own clip is one-sided): g *= min(1, max / (norm + 1e-6)). */
public final class GradientClipping {
    /** The global L2 norm, one multi-tensor kernel over all gradients (no squared copies). */
    private static final ScriptModule NORM = ScriptTemplate.module("GlobalNorm", Map.of(),
            ScriptTemplate.of("train/global-norm"));
    /** In-place scaling of all gradients by a number (a Java scalar would first be copied to the device). */
    private static final ScriptModule SCALE = ScriptTemplate.module("ScaleAll", Map.of(),
            ScriptTemplate.of("train/scale-all"));

    private GradientClipping() {}

    /** Scales the gradients in place; returns the norm before clipping. */
    public static double clip(Collection<NDArray> grads, double maxNorm) {
        if (grads.isEmpty()) {
            return 0;
        }
        double norm;
        try (NDArray total = NORM.forwardArgs(grads).singletonOrThrow()) {
            norm = total.getFloat(); // one read: one wait for the device
        }
        double scale = maxNorm / (norm + 1e-6);
        if (maxNorm > 0 && scale < 1) {
            try (NDManager host = NDManager.newBaseManager(ai.djl.Device.cpu())) {
                SCALE.forwardArgs(host.create(new double[] {scale}), grads).close();
            }
        }
        return norm;
    }
}
