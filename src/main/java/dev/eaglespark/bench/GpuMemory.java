package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;

/** GPU memory in use as the driver sees it (PyTorch's cached blocks included), for the benchmarks. */
final class GpuMemory {
    private GpuMemory() {}

    /** Bytes in use on {@code device}; -1 on the CPU. */
    static long inUse(Device device) {
        return device.isGpu() ? CudaUtils.getGpuMemory(device).getCommitted() : -1;
    }

    static String format(long bytes) {
        return bytes < 0 ? "n/a" : String.format("%.1f GiB", bytes / (double) (1L << 30));
    }
}
