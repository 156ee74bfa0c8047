package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Collection;

/** Global-norm clipping of both signs (DJL's own clip is one-sided): g *= min(1, max / (norm + 1e-6)). */
public final class GradientClipping {
    private GradientClipping() {}

    /** Scales the gradients in place; returns the norm before clipping. */
    public static double clip(Collection<NDArray> grads, double maxNorm) {
        double sq = 0;
        for (NDArray g : grads) {
            try (NDManager tmp = g.getManager().newSubManager()) {
                g.tempAttach(tmp); // the square lands in tmp and is freed with it
                sq += g.square().sum().getFloat();
            }
        }
        double norm = Math.sqrt(sq);
        double scale = maxNorm / (norm + 1e-6);
        if (maxNorm > 0 && scale < 1) {
            grads.forEach(g -> g.muli((float) scale));
        }
        return norm;
    }
}
