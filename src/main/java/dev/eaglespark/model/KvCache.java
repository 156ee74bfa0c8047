package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

/**
 * Rotated keys and values of every layer, [B, kvHeads, S, d], grown one step at a time. The
 * cache owns its arrays; each append hands the full arrays to the caller's scope for the
 * duration of that scope only (tempAttach), so results computed from them never land here.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;

    public KvCache(Device device, int layers) {
        this.manager = NDManager.newBaseManager(device);
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Appends this step's keys and values along the sequence axis; returns the full ones. */
    NDList append(int layer, NDArray k, NDArray v, NDManager scope) {
        keys[layer] = grow(keys[layer], k, scope);
        values[layer] = grow(values[layer], v, scope);
        return new NDList(keys[layer], values[layer]);
    }

    private NDArray grow(NDArray old, NDArray step, NDManager scope) {
        NDArray full = old == null ? step : old.concat(step, 2);
        full.attach(manager);
        if (old != null) {
            old.close();
        }
        full.tempAttach(scope);
        return full;
    }

    /** Keeps the first {@code length} positions (speculative decoding drops rejected tokens). */
    public void truncate(long length) {
        for (int l = 0; l < keys.length; l++) {
            keys[l] = cut(keys[l], length);
            values[l] = cut(values[l], length);
        }
    }

    private NDArray cut(NDArray a, long length) {
        if (a == null || a.getShape().get(2) <= length) {
            return a;
        }
        NDArray kept = a.get(":, :, :{}", length).duplicate();
        kept.attach(manager);
        a.close();
        return kept;
    }

    /** Number of cached positions (slots, padding included). */
    public long length() {
        return keys[0] == null ? 0 : keys[0].getShape().get(2);
    }

    @Override
    public void close() {
        manager.close();
    }
}
