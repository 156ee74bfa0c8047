package dev.eaglespark.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident memory (Linux: VmHWM, reset through /proc/self/clear_refs), for
 * benchmarks on the CPU: libtorch's CPU allocations are native memory, so the peak over an update
 * shows what its activations need, at shapes small enough for a CPU, to scale up to a GPU's.
 */
final class HostMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private HostMemory() {}

    /** Starts a new peak at the current resident size; false where the system offers no such reset. */
    static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Peak resident bytes since the last reset (or since the start), -1 where unknown. */
    static long peakBytes() {
        return status("VmHWM:");
    }

    /** Resident bytes now, -1 where unknown. */
    static long residentBytes() {
        return status("VmRSS:");
    }

    private static long status(String field) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
