package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.core.Linear;

/**
 * Pieces DJL lacks or gets wrong for autograd (RMSNorm, a scale kept alive for backward,
 * single-array concat, linear), composed from its ops.
 * Results land in the manager of the first operand, which callers use for scoping.
 */
public final class Ops {
    private Ops() {}

    /**
     * x * factor, the factor held as a tensor of x's manager. DJL turns a Java number into a
     * tensor over a Java buffer and frees it as soon as the op returns, but autograd keeps that
     * tensor for the backward pass: the gradient then reads freed memory (huge or NaN values,
     * at random). A tensor owned by the scope lives until the scope closes, after backward.
     */
    public static NDArray scale(NDArray x, float factor) {
        return x.mul(x.getManager().create(factor));
    }

    /**
     * Concatenation that keeps autograd intact: NDArrays.concat of a single array returns a
     * copy cut off from the graph, so one array is returned as it is.
     */
    public static NDArray concat(NDList arrays, int axis) {
        return arrays.size() == 1 ? arrays.head() : NDArrays.concat(arrays, axis);
    }

    /** x @ w^T (+ b), the torch.nn.Linear convention. */
    public static NDArray linear(NDArray x, NDArray w, NDArray bias) {
        return Linear.linear(x, w, bias).singletonOrThrow();
    }

    public static NDArray linear(NDArray x, NDArray w) {
        return linear(x, w, null);
    }

    /**
     * Llama's RMSNorm: normalised in fp32, cast back to the input dtype, then scaled. The casts
     * record no autograd (DJL's toType), so this is for inference and fp32 graphs; training in
     * fp16 differentiates the scripted norm of the draft scripts ({@code DraftFragments}).
     */
    public static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        DataType type = x.getDataType();
        NDArray x32 = cast(x, DataType.FLOAT32);
        NDArray variance = x32.square().mean(new int[] {-1}, true);
        NDArray normed = x32.div(variance.add(eps).sqrt());
        return cast(normed, type).mul(weight);
    }

    /** x in {@code type}, outside autograd (DJL's toType records no graph). */
    private static NDArray cast(NDArray x, DataType type) {
        return x.getDataType() == type ? x : x.toType(type, false);
    }
}
