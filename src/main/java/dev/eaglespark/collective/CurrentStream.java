package dev.eaglespark.collective;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.Map;
import java.util.Optional;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Whether libtorch's current CUDA stream on a GPU is, for the calling thread, its default stream.
 * DJL sets no stream, but stage 1 switches its threads to streams of their own
 * ({@link dev.eaglespark.runtime.CudaStreams}), and a Spark executor reuses its task threads.
 * {@code torch.cuda.current_stream} is not scriptable in libtorch 2.5, but the operators behind it
 * are: {@code cuda::current_stream} and {@code cuda::default_stream}, registered by
 * libtorch_cuda.so, return stream objects whose ids compare. Only the answer "yes" lets
 * {@link NcclCollective} order its work after libtorch's by an event on the default stream;
 * otherwise it synchronises the device first.
 */
public final class CurrentStream {
    private static final Logger LOG = LogManager.getLogger(CurrentStream.class);
    private static final ScriptModule IS_DEFAULT = ScriptTemplate.module("CurrentStreamIsDefault", Map.of(),
            ScriptTemplate.of("collective/current-stream-is-default"));

    private CurrentStream() {}

    /** The answer on {@code gpu}, or empty where TorchScript cannot tell (the reason is logged). */
    public static Optional<Boolean> isDefault(Device gpu) {
        try (NDManager m = NDManager.newBaseManager(gpu)) {
            return Optional.of(IS_DEFAULT.call(m.zeros(new Shape(1))).toLongArray()[0] == 1);
        } catch (RuntimeException e) {
            LOG.warn("cannot tell libtorch's current CUDA stream on {} through TorchScript: {}", gpu,
                    e.toString().lines().findFirst().orElse(""));
            return Optional.empty();
        }
    }
}
