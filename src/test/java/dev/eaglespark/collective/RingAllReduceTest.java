package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ring all-reduce against a float64 reference. Tolerance: a sum of n fp32 values in any order is
 * within (n - 1) * 2^-24 * sum|x_i| of the exact sum (standard bound for recursive summation), so
 * that is what each element is checked against. All ranks must also be bit-identical.
 */
@Timeout(120)
class RingAllReduceTest {
    private static final int[] LENGTHS = {0, 1, 2, 3, 5, 7, 64, 1000, 10_007};

    static float[] input(int rank, int len, long seed) {
        Random rnd = new Random(seed * 1_000_003L + rank * 7919L + len);
        float[] a = new float[len];
        for (int i = 0; i < len; i++) {
            a[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(5) - 2));
        }
        return a;
    }

    static void checkAgainstReference(List<float[]> inputs, List<float[]> outputs,
            double relBoundPerRank) {
        int n = inputs.size();
        int len = inputs.get(0).length;
        for (int r = 1; r < n; r++) {
            assertArrayEquals(outputs.get(0), outputs.get(r), "rank " + r + " differs from rank 0");
        }
        float[] out = outputs.get(0);
        for (int i = 0; i < len; i++) {
            double exact = 0;
            double abs = 0;
            for (float[] in : inputs) {
                exact += in[i];
                abs += Math.abs(in[i]);
            }
            double tol = Math.max(n - 1, 0) * relBoundPerRank * abs + 1e-30;
            if (Math.abs(out[i] - exact) > tol) {
                throw new AssertionError("element " + i + ": " + out[i] + " vs exact " + exact
                        + " (tolerance " + tol + ")");
            }
        }
    }

    private void allReduceCase(int n, int len, int bucketBytes) throws Exception {
        CollectiveOptions opts = TestRing.loopback().withBucketBytes(bucketBytes);
        List<Collective> group = TestRing.connect(n, opts);
        try {
            sumsEqualReference(group, len, 1);
        } finally {
            TestRing.closeAll(group);
        }
    }

    /** Every rank's inputs of {@code len} floats (drawn with {@code seed}) summed by the group, against a double-precision sum. */
    private void sumsEqualReference(List<Collective> group, int len, int seed) throws Exception {
        int n = group.size();
        List<float[]> inputs = new java.util.ArrayList<>();
        for (int r = 0; r < n; r++) {
            inputs.add(input(r, len, seed));
        }
        List<float[]> outputs = TestRing.runAll(n, r -> {
            float[] a = inputs.get(r).clone();
            group.get(r).allReduceSum(a);
            return a;
        });
        checkAgainstReference(inputs, outputs, 0x1p-24);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void sumsEqualReferenceForAllLengths(int n) throws Exception {
        CollectiveOptions opts = TestRing.loopback().withBucketBytes(4096); // 1024 floats
        List<Collective> group = TestRing.connect(n, opts);
        try {
            for (int len : LENGTHS) {
                sumsEqualReference(group, len, 2);
            }
        } finally {
            TestRing.closeAll(group);
        }
    }

    @Test
    void manyBucketsWithUnevenTail() throws Exception {
        // 4 KiB buckets: 1000003 floats is 977 buckets, the last one short and not divisible by 3.
        allReduceCase(3, 1_000_003, 4096);
        allReduceCase(2, 1_000_003, 4096);
    }

    @Test
    void bucketSmallerThanWorld() throws Exception {
        allReduceCase(3, 11, 4); // one float per bucket: two of the three chunks are empty
    }

    /** The same sums in the same order whether the data is a float[] or a buffer of fp32. */
    @Test
    void fp32BufferEqualsFloatArrayBitForBit() throws Exception {
        int n = 3;
        int len = 100_003;
        List<Collective> group = TestRing.connect(n, TestRing.loopback().withBucketBytes(4096));
        try {
            List<float[]> arrays = TestRing.runAll(n, r -> {
                float[] a = input(r, len, 5);
                group.get(r).allReduceSum(a);
                return a;
            });
            List<float[]> buffers = TestRing.runAll(n, r -> {
                // offset by one float: the buffer's position is where the data starts
                java.nio.ByteBuffer b = ByteBuffer.allocateDirect(4 * (len + 1))
                        .order(ByteOrder.LITTLE_ENDIAN);
                b.position(4).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(input(r, len, 5));
                group.get(r).allReduceSum(b);
                float[] out = new float[len];
                b.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
                return out;
            });
            for (int r = 0; r < n; r++) {
                assertArrayEquals(arrays.get(r), buffers.get(r), "rank " + r);
            }
            assertThrows(IllegalArgumentException.class,
                    () -> group.get(0).allReduceSum(ByteBuffer.allocate(8)), "big-endian is refused");
        } finally {
            TestRing.closeAll(group);
        }
    }

    @Test
    void offsetAndLengthOnlyTouchTheRange() throws Exception {
        List<Collective> group = TestRing.connect(2, TestRing.loopback());
        try {
            List<float[]> outs = TestRing.runAll(2, r -> {
                float[] a = {9, 1, 2, 3, 9};
                group.get(r).allReduceSum(a, 1, 3);
                return a;
            });
            assertArrayEquals(new float[] {9, 2, 4, 6, 9}, outs.get(0));
            assertArrayEquals(outs.get(0), outs.get(1));
        } finally {
            TestRing.closeAll(group);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void meanDoublesLongsBroadcastBarrier(int n) throws Exception {
        List<Collective> group = TestRing.connect(n, TestRing.loopback().withBucketBytes(1000));
        try {
            byte[] payload = new byte[12_345];
            new Random(5).nextBytes(payload);
            List<Object[]> outs = TestRing.runAll(n, r -> {
                Collective c = group.get(r);
                float[] m = {r, 2 * r, 1};
                c.allReduceMean(m);
                double[] d = c.allReduceSum(new double[] {0.1 * (r + 1), r});
                long[] l = c.allReduceSum(new long[] {1L << 40, r});
                c.barrier();
                byte[] b = c.broadcast(r == 0 ? payload : null);
                byte[] empty = c.broadcast(r == 0 ? new byte[0] : null);
                c.barrier();
                return new Object[] {m, d, l, b, empty};
            });
            double rankSum = n * (n - 1) / 2.0;
            for (Object[] o : outs) {
                float[] m = (float[]) o[0];
                assertEquals((float) (rankSum / n), m[0], 1e-6);
                assertEquals((float) (2 * rankSum / n), m[1], 1e-6);
                assertEquals(1f, m[2]);
                double[] d = (double[]) o[1];
                assertEquals(0.1 * n * (n + 1) / 2, d[0], 1e-12);
                assertEquals(rankSum, d[1]);
                assertArrayEquals(new long[] {n * (1L << 40), (long) rankSum}, (long[]) o[2]);
                assertArrayEquals(payload, (byte[]) o[3]);
                assertEquals(0, ((byte[]) o[4]).length);
                // doubles are added in rank order everywhere: bit-identical
                assertArrayEquals((double[]) outs.get(0)[1], d);
            }
        } finally {
            TestRing.closeAll(group);
        }
    }

    @Test
    void mismatchedLengthsFailClearly() throws Exception {
        List<Collective> group = TestRing.connect(2, TestRing.loopback());
        try {
            // Each rank checks its left neighbour's call; the first to notice closes its sockets,
            // so the other may instead report that peer's close. One must name the mismatch.
            List<String> msgs = TestRing.runAll(2, r -> {
                try {
                    group.get(r).allReduceSum(new float[r == 0 ? 10 : 11]);
                    return "no failure";
                } catch (CollectiveException e) {
                    return e.getMessage();
                }
            });
            assertTrue(msgs.stream().anyMatch(m -> m.contains("mismatched collective calls")
                    && m.contains("allReduce(length 1")), msgs::toString);
            assertTrue(msgs.stream().noneMatch(m -> m.equals("no failure")), msgs::toString);
            assertThrows(CollectiveException.class, () -> group.get(0).barrier());
        } finally {
            TestRing.closeAll(group);
        }
    }

    @Test
    void worldOfOneNeedsNoPeers() throws Exception {
        RingListener l = RingListener.open(TestRing.loopback());
        Collective c = RingCollective.connect(l, 0, 1, List.of(l.address()), TestRing.SECRET);
        assertTrue(c instanceof LocalCollective);
        float[] a = {1, 2, 3};
        c.allReduceSum(a);
        c.allReduceMean(a);
        assertArrayEquals(new float[] {1, 2, 3}, a);
        c.barrier();
        c.close();
        assertThrows(CollectiveException.class, c::barrier);
    }
}
