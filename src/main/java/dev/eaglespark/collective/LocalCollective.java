package dev.eaglespark.collective;

import java.nio.ByteBuffer;

/** The group of one: every operation is the identity, no sockets. */
public final class LocalCollective implements Collective {
    private volatile boolean closed;

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int worldSize() {
        return 1;
    }

    private void checkOpen() {
        if (closed) {
            throw new CollectiveException("collective group is closed");
        }
    }

    @Override
    public void allReduceSum(float[] data, int offset, int length) {
        checkOpen();
        if (offset < 0 || length < 0 || offset + length > data.length) {
            throw new IndexOutOfBoundsException("offset " + offset + ", length " + length
                    + ", array " + data.length);
        }
    }

    @Override
    public WireType wireType() {
        return WireType.FP32;
    }

    @Override
    public void allReduceSum(ByteBuffer elements) {
        checkOpen();
    }

    @Override
    public double[] allReduceSum(double[] values) {
        checkOpen();
        return values.clone();
    }

    @Override
    public long[] allReduceSum(long[] values) {
        checkOpen();
        return values.clone();
    }

    @Override
    public byte[] broadcast(byte[] data) {
        checkOpen();
        if (data == null) {
            throw new IllegalArgumentException("rank 0 must pass the data to broadcast");
        }
        return data;
    }

    @Override
    public void barrier() {
        checkOpen();
    }

    @Override
    public void close() {
        closed = true;
    }
}
