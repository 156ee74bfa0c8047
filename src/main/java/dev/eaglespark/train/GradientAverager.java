package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import dev.eaglespark.collective.Collective;
import java.util.Map;

/**
 * The data-parallel step between backward and clipping: every rank's gradients replaced (in
 * the map) by their mean over the group (fp32 accumulation), the step's statistics averaged and its token
 * counts summed, so every rank clips, skips or updates identically. One tensor at a time
 * through host memory: the largest draft tensor (Llama-8B's MLP) is about 235 MB in fp32.
 */
public final class GradientAverager implements DraftTrainer.GradientReducer {
    private final Collective group;
    private long nanos;
    private long toHostNanos;
    private long ringNanos;
    private long calls;

    public GradientAverager(Collective group) {
        this.group = group;
    }

    @Override
    public void reduce(Map<String, NDArray> grads, double[] means, long[] sums) {
        if (group.worldSize() == 1) {
            return;
        }
        long start = System.nanoTime();
        for (Map.Entry<String, NDArray> e : grads.entrySet()) {
            NDArray g = e.getValue();
            long t0 = System.nanoTime();
            float[] host = g.toFloatArray();
            long t1 = System.nanoTime();
            group.allReduceMean(host);
            toHostNanos += t1 - t0;
            ringNanos += System.nanoTime() - t1;
            // A new array, not g.set(host): on the CPU, set() makes the parameter's .grad storage
            // point at a Java buffer that is freed once g's wrapper is closed.
            e.setValue(g.getManager().create(host, g.getShape()));
            g.close();
        }
        double[] total = group.allReduceSum(means);
        for (int i = 0; i < means.length; i++) {
            means[i] = total[i] / group.worldSize();
        }
        long[] summed = group.allReduceSum(sums);
        System.arraycopy(summed, 0, sums, 0, sums.length);
        nanos += System.nanoTime() - start;
        calls++;
    }

    /** Mean wall time of one reduce so far (device to host, ring, host to device), in seconds. */
    public double meanSeconds() {
        return calls == 0 ? 0 : nanos / 1e9 / calls;
    }

    /** Where a reduce's time goes: to the host (including waiting for the GPU), the ring, the rest. */
    public String breakdown() {
        double n = Math.max(1, calls) * 1e6;
        return String.format("to host %.0f ms, ring %.0f ms, back to the device %.0f ms", toHostNanos / n,
                ringNanos / n, (nanos - toHostNanos - ringNanos) / n);
    }
}
