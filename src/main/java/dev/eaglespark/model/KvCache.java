package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotated keys and values of every layer, [B, kvHeads, S, d], grown one step at a time. Each
 * layer's keys and values live in buffers with room to spare: a step is written in place after
 * the cached positions, and only when the room runs out do the buffers move to larger ones
 * (half as large again, at least {@link #MIN_GROWTH} positions more), so a generation copies
 * each position a bounded number of times rather than the whole cache at every step.
 * {@link #truncate} only moves the end. The cache owns its buffers; each append hands views of
 * the cached positions to the caller's scope, so results computed from them never land here.
 */
public final class KvCache implements AutoCloseable {
    /** Positions added at least when a buffer grows (a prompt's prefill sets the first size). */
    static final long MIN_GROWTH = 256;

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final long[] lengths;

    public KvCache(Device device, int layers) {
        this.manager = NDManager.newBaseManager(device);
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        this.lengths = new long[layers];
    }

    /**
     * Appends this step's keys and values along the sequence axis; returns views of all cached
     * ones, owned by {@code scope}.
     */
    public NDList append(int layer, NDArray k, NDArray v, NDManager scope) {
        long start = lengths[layer];
        long end = start + k.getShape().get(2);
        keys[layer] = write(keys[layer], k, start, end);
        values[layer] = write(values[layer], v, start, end);
        lengths[layer] = end;
        return cached(layer, scope);
    }

    /** Views of a layer's cached keys and values, owned by {@code scope}. */
    public NDList cached(int layer, NDManager scope) {
        NDList cached = new NDList(view(keys[layer], lengths[layer]), view(values[layer], lengths[layer]));
        cached.attach(scope);
        return cached;
    }

    /** {@code step} written at positions [start, end) of {@code buffer}, which grows first when too short. */
    private NDArray write(NDArray buffer, NDArray step, long start, long end) {
        if (buffer == null || buffer.getShape().get(2) < end) {
            long[] s = step.getShape().getShape();
            long room = Math.max(end + MIN_GROWTH, buffer == null ? 0 : buffer.getShape().get(2) * 3 / 2);
            NDArray grown = manager.zeros(new Shape(s[0], s[1], room, s[3]), step.getDataType());
            if (buffer != null) {
                try (NDArray cached = view(buffer, start)) {
                    grown.set(new NDIndex(":, :, :{}", start), cached);
                }
                buffer.close();
            }
            buffer = grown;
        }
        buffer.set(new NDIndex(":, :, {}:{}", start, end), step);
        return buffer;
    }

    private static NDArray view(NDArray buffer, long length) {
        return buffer.get(new NDIndex(":, :, :{}", length));
    }

    /** Keeps the first {@code length} positions (speculative decoding drops rejected tokens). */
    public void truncate(long length) {
        for (int l = 0; l < lengths.length; l++) {
            lengths[l] = Math.min(lengths[l], length);
        }
    }

    /** Number of cached positions (slots, padding included). */
    public long length() {
        return lengths[0];
    }

    @Override
    public void close() {
        manager.close();
    }
}
