package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * cos and the sign-folded sin ({@link RotaryEmbedding}) of positions 0..n-1 kept on the device,
 * grown to the next power of two when a longer sequence comes. Made from host arrays on every
 * call, the table would be computed on the host and uploaded, and an upload waits for the GPU to
 * finish all work queued before it.
 */
public final class RopeCache {
    private final RotaryEmbedding rope;
    private final NDManager manager;
    private NDList table;

    /** @param manager holds the table (a sub-manager of the weights' manager lives as long as they do) */
    public RopeCache(RotaryEmbedding rope, NDManager manager) {
        this.rope = rope;
        this.manager = manager;
    }

    /**
     * cos and the sign-folded sin, each [n, headDim], of positions 0..n-1 in {@code type}: views,
     * owned by {@code scope}.
     */
    public synchronized NDList fromZero(NDManager scope, int n, DataType type) {
        if (table == null || table.head().getShape().get(0) < n || table.head().getDataType() != type) {
            if (table != null) {
                table.close();
            }
            try (NDManager tmp = manager.newSubManager()) { // also holds the fp32 tables before a cast
                int size = Math.max(64, Integer.highestOneBit(n - 1) << 1);
                table = rope.table(tmp, 0, size, type);
                table.attach(manager);
                // Other threads read the table from CUDA streams of their own (stage 1's
                // pipelining), which do not wait for this one's queued work: the table must be
                // finished before it is shared. Reading its last element waits for that.
                table.get(1).get("-1:, -1:").toByteBuffer();
            }
        }
        NDList views = new NDList();
        for (NDArray t : table) {
            NDArray v = t.get("0:{}", n);
            v.attach(scope);
            views.add(v);
        }
        return views;
    }
}
