package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
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
        NDList buffers = reserve(layer, k.getShape(), k.getDataType());
        long end = lengths[layer];
        NDIndex step = new NDIndex(":, :, {}:{}", end - k.getShape().get(2), end);
        buffers.get(0).set(step, k);
        buffers.get(1).set(step, v);
        return cached(layer, scope);
    }

    /**
     * Counts a step of {@code step}'s shape [B, kvHeads, n, d] as cached in {@code layer} and
     * returns the layer's key and value buffers [B, kvHeads, capacity, d], owned by the cache,
     * for the caller to write the step at positions [length - n, length) ({@link LayerScript}
     * does so in place). The buffers grow first when too short.
     */
    public NDList reserve(int layer, Shape step, DataType dtype) {
        long start = lengths[layer];
        long end = start + step.get(2);
        keys[layer] = room(keys[layer], step, dtype, start, end);
        values[layer] = room(values[layer], step, dtype, start, end);
        lengths[layer] = end;
        return new NDList(keys[layer], values[layer]);
    }

    /** Views of a layer's cached keys and values, owned by {@code scope}. */
    public NDList cached(int layer, NDManager scope) {
        NDList cached = new NDList(view(keys[layer], lengths[layer]), view(values[layer], lengths[layer]));
        cached.attach(scope);
        return cached;
    }

    /** {@code buffer}, or a larger one holding its first {@code start} positions when it ends before {@code end}. */
    private NDArray room(NDArray buffer, Shape step, DataType dtype, long start, long end) {
        if (buffer != null && buffer.getShape().get(2) >= end) {
            return buffer;
        }
        long capacity = Math.max(end + MIN_GROWTH, buffer == null ? 0 : buffer.getShape().get(2) * 3 / 2);
        NDArray grown = manager.zeros(new Shape(step.get(0), step.get(1), capacity, step.get(3)), dtype);
        if (buffer != null) {
            try (NDArray cached = view(buffer, start)) {
                grown.set(new NDIndex(":, :, :{}", start), cached);
            }
            buffer.close();
        }
        return grown;
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

    /** Number of cached positions of one layer (ahead of the others while a step runs through the layers). */
    public long length(int layer) {
        return lengths[layer];
    }

    @Override
    public void close() {
        manager.close();
    }
}
