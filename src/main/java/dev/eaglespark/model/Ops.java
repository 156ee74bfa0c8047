package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.nn.core.Linear;

/**
 * Pieces DJL lacks or gets wrong for autograd (a scale kept alive for backward, single-array
 * concat, linear), composed from its ops.
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
}
