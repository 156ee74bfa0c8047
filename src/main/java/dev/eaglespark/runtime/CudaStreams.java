package dev.eaglespark.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.Map;

/**
 * Two CUDA streams for stage 1, so that copying one batch's features to the host overlaps the
 * next batch's forward: a thread that computes switches to a stream of its own
 * ({@link #computeOnOwnStream}), and hands each finished batch to the device's default stream
 * ({@link #handOff}), on which any other thread's copies run. Within one stream the GPU runs in
 * issue order, so a copy issued there would otherwise wait for the next forward too, and the
 * forward for it. DJL 0.32 exposes no streams; these are TorchScript's CUDA stream and event
 * classes. On the CPU both calls do nothing.
 */
public final class CudaStreams {
    private static final ScriptModule OWN_STREAM = ScriptTemplate.module("ComputeStream", Map.of("priority", 0),
            ScriptTemplate.of("runtime/compute-stream"));
    private static final ScriptModule FRESH_STREAM = ScriptTemplate.module("FreshStream",
            Map.of("priority", -1), ScriptTemplate.of("runtime/compute-stream"));
    private static final ScriptModule IS_DEFAULT = ScriptTemplate.module("CurrentStreamIsDefault", Map.of(),
            ScriptTemplate.of("runtime/current-stream-is-default"));
    private static final ScriptModule HAND_OFF = ScriptTemplate.module("HandOff", Map.of(),
            ScriptTemplate.of("runtime/hand-off"));
    /** Threads already computing on their own stream (the setting is per thread). */
    private static final ThreadLocal<Boolean> SWITCHED = ThreadLocal.withInitial(() -> false);

    private CudaStreams() {}

    /**
     * From now on, this thread's GPU work runs on a stream of its own (from libtorch's pool,
     * non-blocking: no implicit waits on the default stream). {@code any} gives the device.
     */
    public static void computeOnOwnStream(NDArray any) {
        if (any.getDevice().isGpu() && !SWITCHED.get()) {
            OWN_STREAM.forward(new NDList(any)).close();
            SWITCHED.set(true);
        }
    }

    /**
     * From now on, this thread's GPU work runs on a high-priority stream (another pool than
     * {@link #computeOnOwnStream}'s): the way out of a stream that can no longer run work (a CUDA
     * graph capture that failed half way, {@link CudaGraph#capture}).
     */
    public static void computeOnFreshStream(NDArray any) {
        if (any.getDevice().isGpu()) {
            FRESH_STREAM.forward(new NDList(any)).close();
            SWITCHED.set(true);
        }
    }

    /**
     * Whether the calling thread's current stream on {@code gpu}'s device is its default stream.
     * {@code torch.cuda.current_stream} is not scriptable in libtorch 2.5, but the operators behind
     * it are: {@code cuda::current_stream} and {@code cuda::default_stream}, registered by
     * libtorch_cuda.so, return stream objects whose ids compare.
     */
    public static boolean isDefault(NDArray gpu) {
        return IS_DEFAULT.call(gpu).toLongArray()[0] == 1;
    }

    /**
     * Work issued after this call on the default stream (by any thread) starts only when
     * everything this thread has issued so far, on {@code any}'s device, is done.
     */
    public static void handOff(NDArray any) {
        if (any.getDevice().isGpu()) {
            HAND_OFF.forward(new NDList(any)).close();
        }
    }
}
