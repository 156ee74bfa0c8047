package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.Collection;

/** Global-norm clipping of both signs (DJL's own clip is one-sided): g *= min(1, max / (norm + 1e-6)). */
public final class GradientClipping {
    private GradientClipping() {}

    /** Scales the gradients in place; returns the norm before clipping. */
    public static double clip(Collection<NDArray> grads, double maxNorm) {
        double sq = 0;
        if (!grads.isEmpty()) {
            NDArray first = grads.iterator().next();
            try (NDManager tmp = first.getManager().newSubManager()) {
                NDList sums = new NDList();
                for (NDArray g : grads) {
                    g.tempAttach(tmp); // the squares land in tmp and are freed with it
                    sums.add(g.square().sum());
                }
                // One read of all the sums: a read per tensor would wait for the device each time.
                for (float v : NDArrays.stack(sums).toFloatArray()) {
                    sq += v;
                }
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
