package dev.eaglespark.train;

import ai.djl.pytorch.jni.JniUtils;

/**
 * A scope with autograd recording off, for in-place updates of parameters that require
 * gradients (optimizer steps, checkpoint loads): PyTorch refuses those while recording.
 */
public final class NoGrad implements AutoCloseable {
    private final boolean previous;

    private NoGrad() {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    public static NoGrad enter() {
        return new NoGrad();
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
