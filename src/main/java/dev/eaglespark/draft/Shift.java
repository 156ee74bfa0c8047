package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Left shift along the sequence axis (axis 1), as the reference trainer's padding(left=False). */
final class Shift {
    private Shift() {}

    /** x[:, 1:] followed by one position filled with {@code fill}. */
    static NDArray left(NDArray x, float fill) {
        long[] s = x.getShape().getShape();
        long[] tail = s.clone();
        tail[1] = 1;
        NDArray pad = x.getManager().full(new Shape(tail), fill, x.getDataType());
        return x.get(":, 1:").concat(pad, 1);
    }
}
