package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.draft.TrainTimeTest;
import dev.eaglespark.features.FeatureRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Feature rows to a right-padded batch on the device: the fp16 states are widened there to the
 * compute dtype when that is fp32.
 */
public final class BatchBuilder {
    private final int targetHidden;
    private final int numAux;
    private final DataType compute;

    public BatchBuilder(int targetHidden, int numAux, DataType compute) {
        this.targetHidden = targetHidden;
        this.numAux = numAux;
        this.compute = compute;
    }

    /**
     * A fp16 array made from a Java buffer, in the compute dtype, as an array that owns its memory.
     * On the CPU the array points at the buffer, which is freed once its wrapper is gone; on a GPU
     * it is already a copy, and a cast makes a new array anyway.
     */
    private NDArray onDevice(NDArray fp16) {
        if (compute != DataType.FLOAT16) {
            return fp16.toType(compute, false);
        }
        return fp16.getDevice().isGpu() ? fp16 : fp16.duplicate();
    }

    public TrainTimeTest.Inputs build(NDManager m, List<FeatureRecord> rows) {
        int b = rows.size();
        int t = rows.stream().mapToInt(FeatureRecord::length).max().orElseThrow();
        long[] ids = new long[b * t];
        float[] mask = new float[b * t];
        long[] lengths = new long[b];
        int auxWidth = numAux * targetHidden;
        ByteBuffer aux = ByteBuffer.allocateDirect(b * t * auxWidth * 2).order(ByteOrder.nativeOrder());
        ByteBuffer last = ByteBuffer.allocateDirect(b * t * targetHidden * 2).order(ByteOrder.nativeOrder());
        long tokens = 0;
        for (int r = 0; r < b; r++) {
            FeatureRecord f = rows.get(r);
            int n = f.length();
            checkSize(f, auxWidth);
            lengths[r] = n;
            tokens += n;
            for (int i = 0; i < n; i++) {
                ids[r * t + i] = f.inputIds()[i];
                mask[r * t + i] = f.lossMask()[i];
            }
            aux.position(r * t * auxWidth * 2);
            aux.put(f.auxHidden());
            last.position(r * t * targetHidden * 2);
            last.put(f.lastHidden());
        }
        aux.clear();
        last.clear();
        NDArray auxArray = onDevice(m.create(aux, new Shape(b, t, auxWidth), DataType.FLOAT16));
        NDArray lastArray = onDevice(m.create(last, new Shape(b, t, targetHidden), DataType.FLOAT16));
        TrainTimeTest.Batch batch = TrainTimeTest.Batch.of(m.create(ids, new Shape(b, t)), lengths,
                m.create(mask, new Shape(b, t)), auxArray);
        return new TrainTimeTest.Inputs(batch, lastArray, tokens);
    }

    private void checkSize(FeatureRecord f, int auxWidth) {
        if (f.auxHidden().length != f.length() * auxWidth * 2 || f.lastHidden().length != f.length() * targetHidden * 2) {
            throw new IllegalArgumentException("feature row " + f.id() + " does not have the shapes of this target: "
                    + f.auxHidden().length + " aux bytes for " + f.length() + " tokens of width " + auxWidth);
        }
    }
}
