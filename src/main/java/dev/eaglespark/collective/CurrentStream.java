package dev.eaglespark.collective;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.runtime.CudaStreams;
import java.util.Optional;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Whether libtorch's current CUDA stream on a GPU is, for the calling thread, its default stream.
 * DJL sets no stream, but stage 1 switches its threads to streams of their own
 * ({@link CudaStreams}), and a Spark executor reuses its task threads. Only the answer "yes" lets
 * {@link NcclCollective} order its work after libtorch's by an event on the default stream;
 * otherwise it synchronises the device first.
 */
public final class CurrentStream {
    private static final Logger LOG = LogManager.getLogger(CurrentStream.class);

    private CurrentStream() {}

    /** The answer on {@code gpu}, or empty where TorchScript cannot tell (the reason is logged). */
    public static Optional<Boolean> isDefault(Device gpu) {
        try (NDManager m = NDManager.newBaseManager(gpu)) {
            return Optional.of(CudaStreams.isDefault(m.zeros(new Shape(1))));
        } catch (RuntimeException e) {
            LOG.warn("cannot tell libtorch's current CUDA stream on {} through TorchScript: {}", gpu,
                    e.toString().lines().findFirst().orElse(""));
            return Optional.empty();
        }
    }
}
