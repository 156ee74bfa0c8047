package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.collective.Collective;
import dev.eaglespark.collective.CollectiveOptions;
import dev.eaglespark.collective.RingCollective;
import dev.eaglespark.collective.RingListener;
import dev.eaglespark.collective.WireType;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The gradient all-reduce as the trainer calls it: ranks are threads with CPU tensors, buckets
 * far smaller than the tensors (so tensors straddle buckets and the pipeline window fills), and
 * the result compared element by element with the mean computed in double precision.
 */
@Timeout(120)
class GradientAveragerTest {
    private static final Shape[] SHAPES = {new Shape(3, 5), new Shape(7), new Shape(1000, 13), new Shape(1)};
    private static final int BUCKET_BYTES = 1000;

    @Test
    void fp32WireGivesTheMeanOnEveryRankBitIdentically() throws Exception {
        for (int n : new int[] {2, 3}) {
            // n - 1 fp32 additions and one division, each within half an ulp
            compare(n, WireType.FP32, (exact, s) -> ((n - 1) * Math.ulp(1f) / 2 * s + Math.ulp((float) exact)) / n);
        }
    }

    /**
     * fp16 wire: each x / n rounded to half once on the device and each partial sum once per hop,
     * every rounding within 2^-11 of a value at most S / n (S = sum |x|), so the mean is within
     * 2^-11 * S, plus 2^-25 per rounding in half's subnormal range.
     */
    @Test
    void fp16WireStaysWithinItsBound() throws Exception {
        for (int n : new int[] {2, 3}) {
            double worst = compare(n, WireType.FP16, (exact, s) -> 0x1p-11 * s + n * 0x1p-25);
            assertTrue(worst > 0, "fp16 rounding must show somewhere");
        }
    }

    /** Tolerance of one element from its exact mean and S = sum over ranks of |x|. */
    private interface Tolerance {
        double of(double exactMean, double sumAbs);
    }

    /**
     * Reduces per-rank inputs and checks every element of rank 0 against the mean computed in
     * double, and every rank against rank 0 bit for bit; returns the largest error / tolerance.
     */
    private static double compare(int n, WireType wire, Tolerance tolerance) throws Exception {
        List<float[][]> inputs = inputs(n);
        List<float[][]> out = reduce(n, wire, inputs);
        double worst = 0;
        for (int t = 0; t < SHAPES.length; t++) {
            for (int i = 0; i < inputs.get(0)[t].length; i++) {
                double exact = 0;
                double s = 0;
                for (float[][] in : inputs) {
                    exact += in[t][i];
                    s += Math.abs(in[t][i]);
                }
                double tol = tolerance.of(exact / n, s);
                double err = Math.abs(out.get(0)[t][i] - exact / n);
                assertTrue(err <= tol, wire + ", n=" + n + " tensor " + t + " element " + i + ": error " + err
                        + " over " + tol);
                worst = Math.max(worst, err / tol);
            }
            for (int r = 1; r < n; r++) {
                assertArrayEquals(out.get(0)[t], out.get(r)[t], "rank " + r + " differs, tensor " + t);
            }
        }
        return worst;
    }

    /** Per rank, per tensor: gradient-like values, mostly small with some large ones. */
    private static List<float[][]> inputs(int n) {
        List<float[][]> all = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            Random rnd = new Random(7 + r);
            float[][] ts = new float[SHAPES.length][];
            for (int t = 0; t < SHAPES.length; t++) {
                ts[t] = new float[(int) SHAPES[t].size()];
                for (int i = 0; i < ts[t].length; i++) {
                    ts[t][i] = (float) (rnd.nextGaussian() * (i % 97 == 0 ? 30 : 1e-3));
                }
            }
            all.add(ts);
        }
        return all;
    }

    /** Each rank's averaged gradients, after checking the statistics and the map's layout. */
    private static List<float[][]> reduce(int n, WireType wire, List<float[][]> inputs) throws Exception {
        CollectiveOptions opts = CollectiveOptions.defaults().withBindHost("127.0.0.1").withAdvertiseHost("127.0.0.1")
                .withWireType(wire).withBucketBytes(256);
        List<RingListener> listeners = new ArrayList<>();
        List<InetSocketAddress> peers = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            listeners.add(RingListener.open(opts));
            peers.add(listeners.get(r).address());
        }
        byte[] secret = "gradient-averager-test-secret-0123".getBytes(StandardCharsets.UTF_8);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<float[][]>> ranks = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    try (Collective group = RingCollective.connect(listeners.get(rank), rank, n, peers, secret);
                         GradientAverager averager = new GradientAverager(group, BUCKET_BYTES);
                         NDManager m = NDManager.newBaseManager()) {
                        Map<String, NDArray> grads = new LinkedHashMap<>();
                        for (int t = 0; t < SHAPES.length; t++) {
                            grads.put("w" + t, m.create(inputs.get(rank)[t], SHAPES[t]));
                        }
                        double[] means = {rank, 2.0 * rank};
                        long[] sums = {rank + 1};
                        averager.reduce(grads, means, sums);
                        assertArrayEquals(new double[] {(n - 1) / 2.0, n - 1.0}, means, 1e-12);
                        assertEquals((long) n * (n + 1) / 2, sums[0]);
                        assertEquals(List.of("w0", "w1", "w2", "w3"), new ArrayList<>(grads.keySet()));
                        float[][] out = new float[SHAPES.length][];
                        for (int t = 0; t < SHAPES.length; t++) {
                            NDArray g = grads.get("w" + t);
                            assertEquals(SHAPES[t], g.getShape());
                            out[t] = g.toFloatArray();
                        }
                        grads.values().forEach(NDArray::close);
                        return out;
                    }
                }));
            }
            List<float[][]> out = new ArrayList<>();
            for (Future<float[][]> f : ranks) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
