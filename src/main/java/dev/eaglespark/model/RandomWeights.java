package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Random weights at a model's real shapes, generated on the device: enough to measure speed
 * and memory without a checkpoint. Norm weights are ones; everything else N(0, std^2).
 */
public final class RandomWeights implements WeightSource {
    private final NDManager manager;
    private final DataType dtype;
    private final float std;
    private final boolean tied;

    public RandomWeights(NDManager manager, DataType dtype, float std, boolean tiedHead) {
        this.manager = manager;
        this.dtype = dtype;
        this.std = std;
        this.tied = tiedHead;
    }

    @Override
    public NDArray load(String name, long... shape) {
        if (name.endsWith("norm.weight")) {
            return manager.ones(new Shape(shape), dtype);
        }
        return manager.randomNormal(0, std, new Shape(shape), dtype);
    }

    @Override
    public boolean has(String name) {
        return !(tied && name.equals("lm_head.weight"));
    }
}
