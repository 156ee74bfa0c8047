package dev.eaglespark.testutil;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Llama's RMSNorm in DJL's ops, a reference written apart from the scripts' own
 * ({@code scripts/norm.torchscript}): normalised in fp32 (x / sqrt(mean(x^2) + eps)), cast back
 * to the input dtype, then scaled. The casts record no autograd (DJL's toType): differentiable in
 * fp32 only.
 */
public final class RmsNorm {
    private RmsNorm() {}

    public static NDArray of(NDArray x, NDArray weight, double eps) {
        DataType type = x.getDataType();
        NDArray x32 = cast(x, DataType.FLOAT32);
        NDArray variance = x32.square().mean(new int[] {-1}, true);
        NDArray normed = x32.div(variance.add(eps).sqrt());
        return cast(normed, type).mul(weight);
    }

    private static NDArray cast(NDArray x, DataType type) {
        return x.getDataType() == type ? x : x.toType(type, false);
    }
}
