package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.IValue;
import java.util.Arrays;

/**
 * Keys and values of a fixed number of rows (slots) for continuous batching: per layer one key
 * and one value buffer [slots, kvHeads, capacity, d], where slot r holds one sequence at
 * positions [0, its length). A finished row's slot is simply written over by the next row's
 * prefill, so no memory moves as rows come and go. Slots rather than pages: libtorch 2.5 has no
 * attention kernel that reads pages, and gathering pages into a contiguous tensor at every layer
 * of every step would read and write the whole cache again, the traffic that bounds a step at
 * large batches. The capacity follows the longest row so far (at least {@link #GROWTH} positions
 * at a time, half as large again, up to the limit), one layer at a time, so growing never holds
 * two whole caches. Buffers start as zeros: positions a row has not written are masked, and
 * must hold finite values for masking to work (0 x NaN is NaN).
 */
public final class SlotCache implements AutoCloseable {
    static final long GROWTH = 256;

    private final NDManager manager;
    private final int slots;
    private final long kvHeads;
    private final long headDim;
    private final DataType dtype;
    private final long limit;
    private final NDArray[] keys;
    private final NDArray[] values;
    private long capacity;
    private IValue keyList;
    private IValue valueList;

    /** @param limit the most positions a slot may hold */
    public SlotCache(Device device, TargetConfig cfg, DataType dtype, int slots, long limit) {
        if (slots < 1 || limit < 1) {
            throw new IllegalArgumentException("a slot cache needs at least one slot and position, got " + slots
                    + " slots of " + limit);
        }
        this.manager = NDManager.newBaseManager(device);
        this.slots = slots;
        this.kvHeads = cfg.numKvHeads();
        this.headDim = cfg.headDim();
        this.dtype = dtype;
        this.limit = limit;
        this.keys = new NDArray[cfg.numLayers()];
        this.values = new NDArray[cfg.numLayers()];
    }

    /** Bytes of keys and values one slot of {@code positions} takes. */
    public static long bytesPerSlot(TargetConfig cfg, DataType dtype, long positions) {
        return 2L * cfg.numLayers() * cfg.numKvHeads() * cfg.headDim() * positions * dtype.getNumOfBytes();
    }

    /**
     * How many slots of {@code limit} positions fit in 90% of {@code freeBytes}, after a reserve
     * for the work around them: a prefill of {@code prefillTokens} tokens (its widest activations,
     * twice over) and 1 GiB, and per slot its logits and the sampler's sort of them (24 bytes a
     * vocabulary entry: fp32 probabilities, sorted copy and cumulative sums, int64 order). At
     * least 1, at most {@code most}.
     */
    public static int slotsFitting(long freeBytes, TargetConfig cfg, DataType dtype, long limit, int prefillTokens,
                                   int most) {
        long widest = 2L * cfg.intermediateSize() + (long) (cfg.numHeads() + 2 * cfg.numKvHeads()) * cfg.headDim()
                + 4L * cfg.hiddenSize();
        long reserve = (1L << 30) + 2L * prefillTokens * widest * dtype.getNumOfBytes();
        long perSlot = bytesPerSlot(cfg, dtype, limit) + 24L * cfg.vocabSize();
        long fit = (long) (0.9 * freeBytes - reserve) / perSlot;
        return (int) Math.max(1, Math.min(most, fit));
    }

    /**
     * Grows every layer's buffers to at least {@code positions} per slot; a no-op when they hold
     * that many already.
     */
    public void ensure(long positions) {
        if (positions > limit) {
            throw new IllegalArgumentException(positions + " positions asked of slots that hold at most " + limit);
        }
        if (positions <= capacity) {
            return;
        }
        long grown = Math.min(limit, Math.max((positions + GROWTH - 1) / GROWTH * GROWTH, capacity * 3 / 2));
        for (int l = 0; l < keys.length; l++) {
            keys[l] = grown(keys[l], grown);
            values[l] = grown(values[l], grown);
        }
        capacity = grown;
        closeLists();
        keyList = IValue.listFrom(Arrays.stream(keys).map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
        valueList = IValue.listFrom(Arrays.stream(values).map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
    }

    private NDArray grown(NDArray buffer, long size) {
        NDArray bigger = manager.zeros(new Shape(slots, kvHeads, size, headDim), dtype);
        if (buffer != null) {
            try (NDArray old = buffer.get(new NDIndex(":, :, :{}", capacity))) {
                bigger.set(new NDIndex(":, :, :{}", capacity), old);
            }
            buffer.close();
        }
        return bigger;
    }

    public int slots() {
        return slots;
    }

    /** Positions each slot holds now. */
    public long capacity() {
        return capacity;
    }

    /** The most positions a slot may hold. */
    public long limit() {
        return limit;
    }

    /** Every layer's key buffer, as one TorchScript list (valid until the next growth). */
    IValue keyList() {
        return keyList;
    }

    IValue valueList() {
        return valueList;
    }

    /** Layer {@code layer}'s key buffer [slots, kvHeads, capacity, d] (tests). */
    NDArray keys(int layer) {
        return keys[layer];
    }

    private void closeLists() {
        if (keyList != null) {
            keyList.close();
            valueList.close();
        }
    }

    @Override
    public void close() {
        closeLists();
        manager.close();
    }
}
