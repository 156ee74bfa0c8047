package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * fp16 on the wire, fp32 accumulation. With n ranks an element is rounded to fp16 n times (once
 * per reduce-scatter hop, once for the finished value), each time by at most 2^-11 of a partial
 * sum, and every partial sum is at most S = sum_i |x_i|. So |result - exact| <= n * 2^-11 * S
 * (+ 2^-24 per rounding for fp16 subnormals). For n = 3 that is 1.5e-3 of S.
 */
@Timeout(60)
class Fp16WireTest {
    @Test
    void fp16WireStaysWithinTheBoundAndIsBitIdentical() throws Exception {
        for (int n : new int[] {2, 3}) {
            int len = 200_003;
            CollectiveOptions opts = TestRing.loopback().withBucketBytes(64 * 1024);
            List<Collective> half = TestRing.connect(n, opts.withWireType(WireType.FP16));
            List<Collective> full = TestRing.connect(n, opts);
            try {
                List<float[]> inputs = new ArrayList<>();
                for (int r = 0; r < n; r++) {
                    Random rnd = new Random(100 + r);
                    float[] a = new float[len];
                    for (int i = 0; i < len; i++) { // gradient-like: mostly small, some large
                        a[i] = (float) (rnd.nextGaussian() * (i % 97 == 0 ? 30 : 1e-3));
                    }
                    inputs.add(a);
                }
                List<float[]> h = TestRing.runAll(n, r -> {
                    float[] a = inputs.get(r).clone();
                    half.get(r).allReduceSum(a);
                    return a;
                });
                List<float[]> f = TestRing.runAll(n, r -> {
                    float[] a = inputs.get(r).clone();
                    full.get(r).allReduceSum(a);
                    return a;
                });
                for (int r = 1; r < n; r++) {
                    assertArrayEquals(h.get(0), h.get(r), "fp16 wire: rank " + r + " differs");
                }
                double worstRatio = 0; // error / bound
                double worstRel = 0; // error / S, for S >= 1e-3
                double maxAbsErr = 0;
                double maxVsFp32 = 0;
                for (int i = 0; i < len; i++) {
                    double exact = 0;
                    double s = 0;
                    for (float[] in : inputs) {
                        exact += in[i];
                        s += Math.abs(in[i]);
                    }
                    double err = Math.abs(h.get(0)[i] - exact);
                    double bound = n * 0x1p-11 * s + n * 0x1p-24;
                    worstRatio = Math.max(worstRatio, err / bound);
                    if (s >= 1e-3) { // above fp16's subnormal range, where the relative bound holds
                        worstRel = Math.max(worstRel, err / s);
                    }
                    maxAbsErr = Math.max(maxAbsErr, err);
                    maxVsFp32 = Math.max(maxVsFp32, Math.abs(h.get(0)[i] - f.get(0)[i]));
                }
                System.out.printf("fp16 wire, %d ranks: max |err|/sum|x| = %.3g (bound %.3g),"
                        + " max |err| = %.3g, max |fp16 - fp32 result| = %.3g%n", n, worstRel,
                        n * 0x1p-11, maxAbsErr, maxVsFp32);
                assertTrue(worstRatio <= 1.0, "error exceeds the bound: ratio " + worstRatio);
            } finally {
                TestRing.closeAll(half);
                TestRing.closeAll(full);
            }
        }
    }
}
