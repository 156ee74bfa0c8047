package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;

/** Where a model's weights come from: a checkpoint, or random values for benchmarks. */
public interface WeightSource {
    /** The named weight with exactly this shape, in the compute dtype on the target device. */
    NDArray load(String name, long... shape);

    boolean has(String name);
}
