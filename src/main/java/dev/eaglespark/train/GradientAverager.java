package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.collective.Collective;
import dev.eaglespark.collective.CollectiveException;
import dev.eaglespark.collective.DeviceCollective;
import dev.eaglespark.collective.LocalCollective;
import dev.eaglespark.collective.TensorAddress;
import dev.eaglespark.collective.WireType;
import dev.eaglespark.runtime.HostStaging;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The data-parallel step between backward and clipping: every rank's gradients replaced (in
 * the map) by their mean over the group, the step's statistics averaged and its token counts
 * summed, so every rank clips, skips or updates identically.
 *
 * <p>All gradients are flattened into one tensor on the device, already in the wire type (an
 * fp16 wire divides by the world size first, so the sum of means stays in half's range). That
 * tensor goes to the host in buckets, and the buckets are pipelined: while the ring reduces
 * bucket i on its own thread, bucket i + 1 is copied off the device and finished buckets go
 * back. Each bucket's host copy (in reused buffers, pinned on a GPU) is reduced in place through a
 * direct buffer over its memory, so the only Java-side copies are the ring's own.
 *
 * <p>With a {@link DeviceCollective} (NCCL) on a GPU the flat tensor never leaves the device: its
 * buckets are reduced in place, all in one NCCL group. A one-rank device collective runs this
 * path too (it checks NCCL on one GPU); a {@link LocalCollective} has nothing to do.
 */
public final class GradientAverager implements DraftTrainer.GradientReducer, AutoCloseable {
    /** Bytes of wire-type elements per bucket: enough to keep the copies efficient. */
    public static final int DEFAULT_BUCKET_BYTES = 64 << 20;
    /** Buckets on the host at once, bounding the host memory to this many buckets. */
    private static final int IN_FLIGHT = 4;

    private final Collective group;
    private final int bucketBytes;
    /** Bucket i goes through staging[i % IN_FLIGHT]: pinned on a GPU, reused every update. */
    private final HostStaging[] staging = new HostStaging[IN_FLIGHT];
    /** Runs the ring on bucket i while the training thread copies bucket i + 1; made on first use. */
    private ExecutorService ring;
    private long nanos;
    private long toHostNanos;
    private long ringWaitNanos;
    /** Device path: from the first bucket's address to the reductions' completion. */
    private long deviceNanos;
    private long calls;

    public GradientAverager(Collective group) {
        this(group, DEFAULT_BUCKET_BYTES);
    }

    public GradientAverager(Collective group, int bucketBytes) {
        if (bucketBytes < 16) {
            throw new IllegalArgumentException("bucket of " + bucketBytes + " bytes");
        }
        this.group = group;
        this.bucketBytes = bucketBytes;
    }

    @Override
    public void reduce(Map<String, NDArray> grads, double[] means, long[] sums) {
        if (group instanceof LocalCollective || grads.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        NDArray first = grads.values().iterator().next();
        NDManager owner = first.getManager();
        Device device = first.getDevice();
        if (ring == null && !onDevice(device)) {
            ring = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "gradient-ring-rank" + group.rank());
                t.setDaemon(true);
                return t;
            });
        }
        try (NDManager scope = owner.newSubManager()) {
            NDArray averaged = averageFlat(grads, scope, device, ring);
            averaged.attach(owner);
            long offset = 0;
            for (Map.Entry<String, NDArray> e : grads.entrySet()) {
                NDArray g = e.getValue();
                long size = g.size();
                // Views of the averaged tensor: they keep its storage alive after its wrapper closes.
                e.setValue(averaged.get(new NDIndex("{}:{}", offset, offset + size)).reshape(g.getShape()));
                offset += size;
                g.close();
            }
            averaged.close();
        }
        // One small collective for both: token counts stay exact in a double up to 2^53.
        double[] stats = Arrays.copyOf(means, means.length + sums.length);
        for (int i = 0; i < sums.length; i++) {
            stats[means.length + i] = sums[i];
        }
        double[] total = group.allReduceSum(stats);
        for (int i = 0; i < means.length; i++) {
            means[i] = total[i] / group.worldSize();
        }
        for (int i = 0; i < sums.length; i++) {
            sums[i] = (long) total[means.length + i];
        }
        nanos += System.nanoTime() - start;
        calls++;
    }

    /** The mean over ranks of all gradients, concatenated flat, as fp32 on the device. */
    private NDArray averageFlat(Map<String, NDArray> grads, NDManager scope, Device device,
                                ExecutorService ring) {
        WireType wire = group.wireType();
        NDList parts = new NDList();
        for (NDArray g : grads.values()) {
            parts.add(g.reshape(-1));
        }
        NDArray flat = NDArrays.concat(parts);
        flat.attach(scope);
        parts.close();
        float n = group.worldSize();
        if (wire == WireType.FP16) {
            NDArray half = flat.divi(n).toType(DataType.FLOAT16, false);
            flat.close();
            flat = half;
        }
        NDArray sum = onDevice(device) ? reduceOnDevice((DeviceCollective) group, flat)
                : reduceThroughHost(flat, scope, device, ring);
        return wire == WireType.FP16 ? sum.toType(DataType.FLOAT32, false) : sum.div(n);
    }

    private boolean onDevice(Device device) {
        return group instanceof DeviceCollective && device.isGpu();
    }

    /** The flat tensor itself, summed over the ranks in place, bucket by bucket in one NCCL group. */
    private NDArray reduceOnDevice(DeviceCollective nccl, NDArray flat) {
        long t0 = System.nanoTime();
        long total = flat.size();
        long bucket = Math.max(1, bucketBytes / nccl.wireType().bytesPerElement());
        List<DeviceCollective.Span> spans = new ArrayList<>();
        for (long from = 0; from < total; from += bucket) {
            long to = Math.min(total, from + bucket);
            try (NDArray view = flat.get(new NDIndex("{}:{}", from, to))) {
                spans.add(DeviceCollective.Span.inPlace(TensorAddress.of(view), to - from));
            }
        }
        nccl.allReduceSum(spans);
        deviceNanos += System.nanoTime() - t0;
        return flat;
    }

    /** The sum over the ranks of the flat tensor, each bucket through the host and the ring. */
    private NDArray reduceThroughHost(NDArray flat, NDManager scope, Device device, ExecutorService ring) {
        WireType wire = group.wireType();
        long total = flat.size();
        long bucket = Math.max(1, bucketBytes / wire.bytesPerElement());
        List<NDArray> reduced = new ArrayList<>();
        Deque<Bucket> inFlight = new ArrayDeque<>();
        for (long from = 0; from < total; from += bucket) {
            if (inFlight.size() >= IN_FLIGHT) {
                reduced.add(inFlight.poll().backTo(device));
            }
            long t0 = System.nanoTime();
            int slot = (int) (from / bucket % IN_FLIGHT);
            if (staging[slot] == null) {
                staging[slot] = HostStaging.forDevice(device);
            }
            NDArray host = staging[slot].stage(flat.get(new NDIndex("{}:{}", from, Math.min(total, from + bucket))));
            // A direct buffer over the host tensor's own memory (it is contiguous), so the ring's
            // in-place sums are what goes back to the device.
            ByteBuffer bytes = host.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
            if (!bytes.isDirect() || bytes.remaining() != host.size() * wire.bytesPerElement()) {
                throw new IllegalStateException("no direct view of the gradient bucket's host memory");
            }
            toHostNanos += System.nanoTime() - t0;
            inFlight.add(new Bucket(host, ring.submit(() -> group.allReduceSum(bytes)), scope));
        }
        while (!inFlight.isEmpty()) {
            reduced.add(inFlight.poll().backTo(device));
        }
        flat.close();
        return reduced.size() == 1 ? reduced.get(0) : NDArrays.concat(new NDList(reduced));
    }

    /** One bucket's host copy, being reduced in place on the ring thread. */
    private final class Bucket {
        private final NDArray host;
        private final Future<?> ring;
        private final NDManager scope;

        Bucket(NDArray host, Future<?> ring, NDManager scope) {
            this.host = host;
            this.ring = ring;
            this.scope = scope;
        }

        NDArray backTo(Device device) {
            long t0 = System.nanoTime();
            try {
                ring.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CollectiveException("interrupted while averaging gradients", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new CollectiveException("averaging gradients failed: " + e.getCause(), e.getCause());
            }
            ringWaitNanos += System.nanoTime() - t0;
            // A copy either way: the staging buffer is reused by a later bucket.
            NDArray back = device.isGpu() ? host.toDevice(device, false) : host.duplicate();
            back.attach(scope);
            host.close();
            return back;
        }
    }

    @Override
    public void close() {
        if (ring != null) {
            ring.shutdownNow();
        }
        for (HostStaging s : staging) {
            if (s != null) {
                s.close();
            }
        }
    }

    /** Forgets the times measured so far (a benchmark's next setting). */
    public void resetTimes() {
        nanos = 0;
        toHostNanos = 0;
        ringWaitNanos = 0;
        deviceNanos = 0;
        calls = 0;
    }

    /** Mean wall time of one reduce so far (device to host, ring, host to device), in seconds. */
    public double meanSeconds() {
        return calls == 0 ? 0 : nanos / 1e9 / calls;
    }

    /** Where a reduce's time goes, as the training thread sees it: the ring overlaps the copies. */
    public String breakdown() {
        double n = Math.max(1, calls) * 1e6;
        if (deviceNanos > 0) {
            return String.format("NCCL on the device %.1f ms (flattening included: the reductions wait for it),"
                    + " the rest (scaling back, statistics) %.1f ms", deviceNanos / n, (nanos - deviceNanos) / n);
        }
        return String.format("to the host %.0f ms (with waiting for the backward pass), waiting for the ring %.0f ms,"
                + " the rest (back to the device, flattening) %.0f ms", toHostNanos / n, ringWaitNanos / n,
                (nanos - toHostNanos - ringWaitNanos) / n);
    }
}
