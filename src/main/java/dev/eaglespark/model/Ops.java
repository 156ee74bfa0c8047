package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;

/**
 * The transformer pieces DJL lacks (RMSNorm, SiLU, rotary embedding), composed from its ops.
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
     * fp16 differentiates the scripted norm of {@code TrainTimeTestScript}.
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

    public static NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
    }

    /** The SwiGLU MLP of Llama and Qwen: down(silu(gate(x)) * up(x)). */
    public static NDArray swiglu(NDArray x, NDArray gate, NDArray up, NDArray down) {
        return linear(silu(linear(x, gate)).mul(linear(x, up)), down);
    }

    /** SwiGLU with gate and up stacked in one [2I, H] matrix (one GEMM for both). */
    public static NDArray swiglu(NDArray x, NDArray gateUp, NDArray down) {
        NDArray both = linear(x, gateUp);
        NDList halves = both.split(2, both.getShape().dimension() - 1); // DJL's split takes no negative axis
        return linear(silu(halves.get(0)).mul(halves.get(1)), down);
    }

    /** Rotates halves (the Hugging Face convention): x*cos + rotate_half(x)*sin over the last axis. */
    public static NDArray applyRope(NDArray x, NDArray cos, NDArray sin) {
        long half = x.getShape().getShape()[x.getShape().dimension() - 1] / 2;
        NDArray x1 = x.get("..., :{}", half);
        NDArray x2 = x.get("..., {}:", half);
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
