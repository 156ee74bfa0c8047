package dev.eaglespark.collective;

import java.util.List;

/**
 * A collective whose ranks own GPUs and reduce device memory where it lies ({@link NcclCollective}):
 * no copy to the host. The host-array operations of {@link Collective} still work, through the
 * device.
 */
public interface DeviceCollective extends Collective {
    /**
     * {@code count} elements of the {@link #wireType()} in this rank's GPU memory: summed from
     * {@code source} into {@code target} (the same address for in place).
     */
    record Span(long source, long target, long count) {
        public Span {
            if (source == 0 || target == 0 || count < 0) {
                throw new IllegalArgumentException("span of " + count + " elements at " + source + " -> " + target);
            }
        }

        public static Span inPlace(long address, long count) {
            return new Span(address, address, count);
        }
    }

    /**
     * Element-wise sums over all ranks of every span, one NCCL group (the spans reduce
     * concurrently), after the work already queued on libtorch's current stream of this rank's GPU
     * and before this returns: the results are ready for any stream when it does. Every rank passes
     * spans of the same counts in the same order.
     */
    void allReduceSum(List<Span> spans);
}
