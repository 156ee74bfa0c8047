package dev.eaglespark.collective;

import java.io.Closeable;
import java.nio.ByteBuffer;

/**
 * Collective operations over a fixed group of ranks. Every rank must call the same operations
 * in the same order with the same array lengths (checked on every call). Results are
 * bit-identical on all ranks. Not thread-safe: one operation at a time per instance. After any
 * failure the group is closed and every later call throws {@link CollectiveException}.
 */
public interface Collective extends Closeable {
    int rank();

    int worldSize();

    /** In-place element-wise sum over all ranks of {@code data[offset, offset + length)}. */
    void allReduceSum(float[] data, int offset, int length);

    default void allReduceSum(float[] data) {
        allReduceSum(data, 0, data.length);
    }

    /** In-place element-wise mean: the sum, then divided by the world size. */
    default void allReduceMean(float[] data) {
        allReduceSum(data, 0, data.length);
        int n = worldSize();
        if (n > 1) {
            float fn = n;
            for (int i = 0; i < data.length; i++) {
                data[i] /= fn;
            }
        }
    }

    /** How float data travels between ranks ({@link #allReduceSum(ByteBuffer)} takes it as is). */
    WireType wireType();

    /**
     * In-place element-wise sum over all ranks of a little-endian buffer (position to limit) that
     * already holds {@link #wireType()} elements: fp32, or IEEE half for an fp16 wire, whose
     * partial sums are added in fp32 and rounded to half at every hop. A direct buffer avoids all
     * copies but the socket's; the data may come straight from a device tensor.
     */
    void allReduceSum(ByteBuffer elements);

    /**
     * Sum of a few doubles (loss sums, counts), added in rank order 0..n-1 on every rank so the
     * result is bit-identical everywhere. Meant for small arrays: every rank receives all inputs.
     */
    double[] allReduceSum(double[] values);

    /** Exact sum of a few longs (token counts); see {@link #allReduceSum(double[])}. */
    long[] allReduceSum(long[] values);

    /**
     * Rank 0's bytes, delivered to every rank. Rank 0 passes its data and gets it back; the others
     * pass anything (ignored, may be null) and get a copy of rank 0's data.
     */
    byte[] broadcast(byte[] data);

    /** Returns once every rank has entered the barrier. */
    void barrier();

    /** Closes all sockets; idempotent. */
    @Override
    void close();
}
