package dev.eaglespark.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.function.Function;

/**
 * One reusable host buffer for reading tensors off the device: page-locked when the tensors come
 * from a GPU. A fresh host tensor per copy costs a page fault per 4 KiB on first touch, which
 * held the 66 MB of stage-1 features per 2048 tokens to about 1.6 GB/s; pinned and reused, the
 * copy runs at the bus's speed. The buffer (flat, of the dtype read) grows to the largest tensor
 * read and is kept until {@link #close}. Thread-safe: one read at a time.
 */
public final class HostStaging implements AutoCloseable {
    private final NDManager manager;
    private final ScriptModule alloc;
    private final ScriptModule copy = ScriptTemplate.module("HostStagingCopy", Map.of(),
            ScriptTemplate.of("runtime/host-staging-copy"));
    private NDArray buffer;

    /** @param pinned page-locked memory (needs CUDA): for tensors read off a GPU */
    public HostStaging(boolean pinned) {
        this.manager = NDManager.newBaseManager(Device.cpu());
        this.alloc = ScriptTemplate.module("HostStagingAlloc", Map.of("pinned", pinned),
                ScriptTemplate.of("runtime/host-staging-alloc"));
    }

    /** Staging for tensors on {@code device}: pinned for a GPU. */
    public static HostStaging forDevice(Device device) {
        return new HostStaging(device.isGpu());
    }

    /**
     * Copies x to the host and applies {@code use} to its bytes (native order, position 0); the
     * buffer is valid only inside {@code use}.
     */
    public synchronized <T> T read(NDArray x, Function<ByteBuffer, T> use) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray host = stage(x);
            host.attach(scope);
            return use.apply(host.toByteBuffer(true));
        }
    }

    /**
     * Copies x into the buffer and returns the host tensor of x's shape over it, owned by the
     * caller (close it); its contents stay valid until the next copy through this staging.
     */
    public synchronized NDArray stage(NDArray x) {
        if (buffer == null || buffer.size() < x.size() || buffer.getDataType() != x.getDataType()) {
            if (buffer != null) {
                buffer.close();
            }
            // A flat tensor of x's dtype and size, moved to this manager.
            buffer = alloc.forward(new NDList(x)).singletonOrThrow();
            buffer.attach(manager);
        }
        return copy.forward(new NDList(buffer, x)).singletonOrThrow();
    }

    @Override
    public synchronized void close() {
        manager.close();
        buffer = null;
    }
}
