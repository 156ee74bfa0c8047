package dev.eaglespark.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Autograd recording on or off for the calling thread, restored on close. PyTorch keeps grad
 * mode per thread, so two training tasks in one JVM (Spark local mode, several barrier tasks
 * per executor in tests) can each record and run backward; DJL's GradientCollector allows
 * only one in the whole JVM. Off is for in-place updates of parameters that require
 * gradients (optimizer steps, checkpoint loads), which PyTorch refuses while recording.
 */
public final class GradMode implements AutoCloseable {
    private final boolean previous;

    private GradMode(boolean on) {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(on);
    }

    /** Records operations for a later {@link #backward}. */
    public static GradMode recording() {
        return new GradMode(true);
    }

    public static GradMode off() {
        return new GradMode(false);
    }

    /** Adds d(loss)/d(leaf) to every leaf's gradient; {@code loss} is a scalar. */
    public void backward(NDArray loss) {
        try (NDArray seed = loss.onesLike()) {
            JniUtils.backward((PtNDArray) loss, (PtNDArray) seed, false, false);
        }
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
