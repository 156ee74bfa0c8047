package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * The dtype draft training computes in. Master weights and optimizer moments are fp32 either
 * way; fp16 runs forward and backward on fp16 copies with dynamic loss scaling. AUTO is fp16
 * on a GPU and fp32 on the CPU (libtorch's CPU fp16 matrix products are slow), resolved where
 * the device is known: each training task picks its own.
 */
public enum Precision {
    AUTO, FP16, FP32;

    public static Precision parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("precision must be auto, fp16 or fp32, got '" + s + "'");
        }
    }

    /** This precision on {@code device}: AUTO becomes fp16 on a GPU, else fp32. */
    public Precision on(Device device) {
        return this != AUTO ? this : device.isGpu() ? FP16 : FP32;
    }

    /** The compute dtype (AUTO must be resolved first). */
    public DataType dataType() {
        return switch (this) {
            case FP16 -> DataType.FLOAT16;
            case FP32 -> DataType.FLOAT32;
            case AUTO -> throw new IllegalStateException("resolve AUTO with on(device) first");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
