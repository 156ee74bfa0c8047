package dev.eaglespark.train;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * SIGTERM (how YARN and Kubernetes stop executors) without a native crash. The JVM answers the
 * signal by running its shutdown hooks and then exiting; if a training thread is inside
 * libtorch then (a backward pass), the exit tears the native library down under it and the
 * process dies of SIGSEGV. This hook asks the training loop to stop at its next update
 * boundary (after a checkpoint being written, which is part of the update before it) and
 * holds the exit until the loop has closed its arrays, at most {@code eaglespark.train.stopWaitSeconds}
 * (default 120; YARN sends SIGKILL sooner, after {@code yarn.nodemanager.sleep-delay-before-sigkill.ms}).
 */
public final class GracefulStop implements AutoCloseable {
    private static final long WAIT_SECONDS = Long.getLong("eaglespark.train.stopWaitSeconds", 120);

    /** Thrown by the training loop at the boundary where it stopped. */
    public static final class StoppedException extends java.io.IOException {
        public StoppedException(String message) {
            super(message);
        }
    }

    private final AtomicBoolean requested = new AtomicBoolean();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    private GracefulStop(String what) {
        hook = new Thread(() -> {
            requested.set(true);
            System.err.println(what + ": the JVM is shutting down (SIGTERM?): stopping at the next update boundary");
            try {
                if (!finished.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                    System.err.println(what + ": not stopped after " + WAIT_SECONDS + " s; exiting anyway");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "eaglespark-graceful-stop");
    }

    /** Registers the hook for one training run (of one rank). */
    public static GracefulStop install(String what) {
        GracefulStop stop = new GracefulStop(what);
        Runtime.getRuntime().addShutdownHook(stop.hook);
        return stop;
    }

    /** Whether the loop should stop now (checked at every update boundary). */
    public boolean requested() {
        return requested.get();
    }

    /** The run is over and its native arrays closed: the JVM may exit. */
    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running and now returns
        }
    }
}
