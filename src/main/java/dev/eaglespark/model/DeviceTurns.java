package dev.eaglespark.model;

import ai.djl.Device;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Decode calls (a prefill or a step, through to the ids on the host) of one GPU take turns
 * across the threads of a process, in arrival order: tasks of one executor (or of Spark's local
 * mode) that decode on one GPU at once gave other tokens than each alone, with CUDA graphs
 * (GpuDecodeGraphCheck, docs/BENCHMARKS.md). Each task still keeps its own slots, so the GPU
 * stays busy; what is lost is the overlap of one task's host work with another's GPU work, small
 * when steps are graphs. {@code -Deaglespark.decode-turns=false} lets the calls overlap (for
 * the check). On the CPU calls run as they come.
 */
final class DeviceTurns {
    private static final Map<String, ReentrantLock> TURNS = new ConcurrentHashMap<>();

    private DeviceTurns() {}

    static <R> R take(Device device, Supplier<R> call) {
        if (!device.isGpu() || "false".equals(System.getProperty("eaglespark.decode-turns"))) {
            return call.get();
        }
        ReentrantLock turn = TURNS.computeIfAbsent(device.toString(), k -> new ReentrantLock(true));
        turn.lock();
        try {
            return call.get();
        } finally {
            turn.unlock();
        }
    }
}
