package dev.eaglespark.collective;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import dev.eaglespark.tensors.Fp16;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Collectives through NCCL for ranks that each own one GPU: gradients are summed where they lie,
 * over NVLink or PCIe within a node and NCCL's network transports between nodes.
 *
 * <p>Rendezvous: rank 0 makes an {@code ncclUniqueId}, the caller's {@link AllGather} (Spark's
 * barrier allGather) carries it base64-encoded to the others, and every rank joins with
 * {@code ncclCommInitRankConfig}. The communicator is non-blocking: every NCCL call returns at
 * once and this class polls {@code ncclCommGetAsyncError} and a CUDA event until the work is done,
 * so the calling thread is its own watchdog. A peer that reports an error (NCCL's sockets see a
 * dead process on another node), a cancelled task (Spark kills the barrier stage's other tasks when
 * one fails) or no completion within the I/O timeout (a dead peer on the same node leaves the
 * kernels waiting silently) aborts the communicator and throws {@link CollectiveException}; the
 * group is closed from then on, as the ring's is.
 *
 * <p>Device work runs on a stream of this class's own, ordered after libtorch's current stream by
 * an event (or, where that stream is unknown, after a device synchronisation) and awaited before a
 * call returns. The host-array operations go through a small device buffer; sums of doubles and
 * longs are all-gathered and added in rank order on the host, so they are bit-identical on every
 * rank, as the ring's are. Not thread-safe: one operation at a time.
 */
public final class NcclCollective implements DeviceCollective {
    private static final Logger LOG = LogManager.getLogger(NcclCollective.class);
    private static final String ID_MESSAGE = "nccl-id ";
    /** Polls of a running operation before the thread starts sleeping between them. */
    private static final int SPIN_POLLS = 100;
    private static final long POLL_NANOS = 50_000;
    /** ncclCommAbort can hang in some NCCL versions: a failing rank waits this long for it. */
    private static final long ABORT_WAIT_MILLIS = 30_000;
    /** Device buffers of the host-array operations: at least this big, output 256-byte aligned. */
    private static final long MIN_SCRATCH = 1 << 20;

    private final NcclLibrary nccl;
    private final CudaRuntime cuda;
    private final int rank;
    private final int worldSize;
    private final int gpu;
    private final WireType wire;
    private final Duration ioTimeout;
    private final BooleanSupplier cancelled;
    private final boolean afterDefaultStream;
    private final Pointer stream;
    private final Pointer ready;
    private final Pointer done;
    private Pointer comm;
    private Pointer scratch;
    private long scratchBytes;
    private volatile boolean closed;
    private CollectiveException failure;

    private NcclCollective(NcclLibrary nccl, CudaRuntime cuda, int rank, int worldSize, int gpu,
            CollectiveOptions options, boolean afterDefaultStream, BooleanSupplier cancelled) {
        this.nccl = nccl;
        this.cuda = cuda;
        this.rank = rank;
        this.worldSize = worldSize;
        this.gpu = gpu;
        this.wire = options.wireType();
        this.ioTimeout = options.ioTimeout();
        this.cancelled = cancelled;
        this.afterDefaultStream = afterDefaultStream;
        this.stream = cuda.newStream();
        this.ready = cuda.newEvent();
        this.done = cuda.newEvent();
    }

    /**
     * Joins the communicator of {@code worldSize} ranks on CUDA device {@code gpu}; every rank
     * calls this at the same point of its {@code allGather} sequence. Waits up to the options'
     * connect timeout for the others.
     *
     * @param afterDefaultStream libtorch's current stream on {@code gpu} is its default stream
     *     ({@link CurrentStream}): device reductions then wait for it by an event, else for a
     *     synchronisation of the whole device
     * @param cancelled polled while waiting: true fails the operation at once
     */
    public static NcclCollective join(int rank, int worldSize, int gpu, CollectiveOptions options,
            boolean afterDefaultStream, AllGather allGather, BooleanSupplier cancelled) {
        if (worldSize < 1 || rank < 0 || rank >= worldSize || gpu < 0) {
            throw new IllegalArgumentException("rank " + rank + " of " + worldSize + " on GPU " + gpu);
        }
        NcclLibrary nccl = NcclLibrary.load();
        CudaRuntime cuda = CudaRuntime.load();
        int previous = cuda.currentDevice();
        cuda.check(cuda.api.cudaSetDevice(gpu), "cudaSetDevice(" + gpu + ")");
        try {
            String mine = ID_MESSAGE + (rank == 0 ? Base64.getEncoder().encodeToString(nccl.uniqueId()) : "");
            byte[] id = uniqueId(allGather.allGather(mine)[0]);
            NcclCollective group = new NcclCollective(nccl, cuda, rank, worldSize, gpu, options, afterDefaultStream,
                    cancelled);
            group.connect(id, options.connectTimeout());
            return group;
        } finally {
            cuda.api.cudaSetDevice(previous);
        }
    }

    /** Rank 0's message of the rendezvous, decoded. */
    static byte[] uniqueId(String message) {
        if (message == null || !message.startsWith(ID_MESSAGE) || message.length() == ID_MESSAGE.length()) {
            throw new CollectiveException("rank 0 published no NCCL unique id: '" + message + "'");
        }
        try {
            byte[] id = Base64.getDecoder().decode(message.substring(ID_MESSAGE.length()));
            if (id.length != NcclLibrary.UNIQUE_ID_BYTES) {
                throw new CollectiveException("rank 0's NCCL unique id has " + id.length + " bytes, not "
                        + NcclLibrary.UNIQUE_ID_BYTES);
            }
            return id;
        } catch (IllegalArgumentException e) {
            throw new CollectiveException("rank 0's NCCL unique id is not base64: " + e.getMessage(), e);
        }
    }

    private void connect(byte[] id, Duration limit) {
        Memory config = NcclLibrary.nonBlockingConfig();
        PointerByReference out = new PointerByReference();
        int result = nccl.api.ncclCommInitRankConfig(out, worldSize, new NcclLibrary.UniqueId(id), rank, config);
        comm = out.getValue();
        try {
            String what = "joining the NCCL communicator of " + worldSize + " ranks";
            if (comm == null) {
                throw fail(what + ": " + nccl.describe(result, null));
            }
            settle(result, what, limit);
        } catch (CollectiveException e) {
            close();
            throw e;
        } finally {
            Reference.reachabilityFence(config);
        }
        LOG.info("rank {}/{}: NCCL {} communicator on GPU {} ({}; after libtorch's work by {})", rank, worldSize,
                NcclLibrary.versionName(nccl.version), gpu, nccl.source,
                afterDefaultStream ? "an event on its default stream" : "synchronising the device");
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    @Override
    public WireType wireType() {
        return wire;
    }

    @Override
    public void allReduceSum(List<Span> spans) {
        if (spans.isEmpty()) {
            checkOpen();
            return;
        }
        String what = "all-reduce of " + spans.size() + (spans.size() == 1 ? " bucket" : " buckets");
        onDevice(() -> {
            if (afterDefaultStream) {
                cuda.check(cuda.api.cudaEventRecord(ready, null), "cudaEventRecord");
                cuda.check(cuda.api.cudaStreamWaitEvent(stream, ready, 0), "cudaStreamWaitEvent");
            } else {
                cuda.check(cuda.api.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
            }
            group(what, () -> {
                for (Span s : spans) {
                    int r = nccl.api.ncclAllReduce(new Pointer(s.source()), new Pointer(s.target()), s.count(),
                            wireDatatype(), NcclLibrary.SUM, comm, stream);
                    if (r != NcclLibrary.SUCCESS) {
                        return r;
                    }
                }
                return NcclLibrary.SUCCESS;
            });
            finish(what);
            return null;
        });
    }

    @Override
    public void allReduceSum(float[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        if (length == 0) {
            checkOpen();
            return;
        }
        long bytes = (long) length * wire.bytesPerElement();
        Memory in = new Memory(bytes);
        if (wire == WireType.FP32) {
            in.write(0, data, offset, length);
        } else {
            short[] halves = new short[length];
            for (int i = 0; i < length; i++) {
                halves[i] = Fp16.fromFloat(data[offset + i]);
            }
            in.write(0, halves, 0, length);
        }
        Memory out = throughDevice(in, bytes, "all-reduce of " + length + " floats", (src, dst) ->
                nccl.api.ncclAllReduce(src, dst, length, wireDatatype(), NcclLibrary.SUM, comm, stream));
        if (wire == WireType.FP32) {
            out.read(0, data, offset, length);
        } else {
            short[] halves = out.getShortArray(0, length);
            for (int i = 0; i < length; i++) {
                data[offset + i] = Fp16.toFloat(halves[i]);
            }
        }
    }

    @Override
    public void allReduceSum(ByteBuffer elements) {
        int bytes = elements.remaining();
        if (bytes % wire.bytesPerElement() != 0) {
            throw new IllegalArgumentException(bytes + " bytes are not whole " + wire + " elements");
        }
        if (bytes == 0) {
            checkOpen();
            return;
        }
        long count = bytes / wire.bytesPerElement();
        Memory in = new Memory(bytes);
        in.getByteBuffer(0, bytes).put(elements.duplicate());
        Memory out = throughDevice(in, bytes, "all-reduce of " + count + " " + wire + " elements", (src, dst) ->
                nccl.api.ncclAllReduce(src, dst, count, wireDatatype(), NcclLibrary.SUM, comm, stream));
        elements.duplicate().put(out.getByteBuffer(0, bytes));
    }

    @Override
    public double[] allReduceSum(double[] values) {
        double[] total = new double[values.length];
        Memory all = allGather(values.length * 8L, in -> in.write(0, values, 0, values.length), "sum of doubles");
        for (int r = 0; r < worldSize && all != null; r++) { // in rank order: bit-identical on every rank
            for (int i = 0; i < values.length; i++) {
                total[i] += all.getDouble((r * (long) values.length + i) * 8);
            }
        }
        return total;
    }

    @Override
    public long[] allReduceSum(long[] values) {
        long[] total = new long[values.length];
        Memory all = allGather(values.length * 8L, in -> in.write(0, values, 0, values.length), "sum of longs");
        for (int r = 0; r < worldSize && all != null; r++) {
            for (int i = 0; i < values.length; i++) {
                total[i] += all.getLong((r * (long) values.length + i) * 8);
            }
        }
        return total;
    }

    /** Every rank's {@code bytes} (written by {@code fill}), in rank order; null for none. */
    private Memory allGather(long bytes, java.util.function.Consumer<Memory> fill, String what) {
        if (bytes == 0) {
            checkOpen();
            return null;
        }
        Memory in = new Memory(bytes);
        fill.accept(in);
        return throughDevice(in, bytes * worldSize, what, (src, dst) ->
                nccl.api.ncclAllGather(src, dst, bytes, NcclLibrary.INT8, comm, stream));
    }

    @Override
    public byte[] broadcast(byte[] data) {
        if (rank == 0 && data == null) {
            throw new IllegalArgumentException("rank 0 must pass the data to broadcast");
        }
        Memory length = new Memory(8);
        length.setLong(0, rank == 0 ? data.length : 0);
        long n = throughDevice(length, 8, "broadcast of the length", (src, dst) ->
                nccl.api.ncclBroadcast(src, dst, 8, NcclLibrary.INT8, 0, comm, stream)).getLong(0);
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw fail("rank 0 broadcast an impossible length " + n);
        }
        if (n == 0) {
            return rank == 0 ? data : new byte[0];
        }
        Memory in = new Memory(n);
        if (rank == 0) {
            in.write(0, data, 0, data.length);
        }
        byte[] received = throughDevice(in, n, "broadcast of " + n + " bytes", (src, dst) ->
                nccl.api.ncclBroadcast(src, dst, n, NcclLibrary.INT8, 0, comm, stream)).getByteArray(0, (int) n);
        return rank == 0 ? data : received;
    }

    @Override
    public void barrier() {
        Memory one = new Memory(4);
        one.setInt(0, 1);
        int arrived = throughDevice(one, 4, "barrier", (src, dst) ->
                nccl.api.ncclAllReduce(src, dst, 1, NcclLibrary.INT32, NcclLibrary.SUM, comm, stream)).getInt(0);
        if (arrived != worldSize) {
            throw fail("barrier counted " + arrived + " ranks, not " + worldSize);
        }
    }

    /** One NCCL call on device buffers: the input's and the output's address. */
    private interface Enqueue {
        int call(Pointer in, Pointer out);
    }

    /**
     * The host-array operations' path: {@code in} to the device, {@code call} on it, the output
     * ({@code outBytes}) back into fresh host memory once the call has completed.
     */
    private Memory throughDevice(Memory in, long outBytes, String what, Enqueue call) {
        return onDevice(() -> {
            long inBytes = in.size();
            long outAt = (inBytes + 255) / 256 * 256;
            Pointer device = scratch(outAt + outBytes);
            Pointer deviceOut = device.share(outAt);
            cuda.check(cuda.api.cudaMemcpyAsync(device, in, inBytes, CudaRuntime.HOST_TO_DEVICE, stream),
                    "copy to the device");
            settle(call.call(device, deviceOut), what, ioTimeout);
            finish(what);
            Memory out = new Memory(outBytes);
            cuda.check(cuda.api.cudaMemcpyAsync(out, deviceOut, outBytes, CudaRuntime.DEVICE_TO_HOST, stream),
                    "copy to the host");
            finish(what + " (copy to the host)");
            return out;
        });
    }

    /** The device buffer of the host-array operations, grown to at least {@code bytes}. */
    private Pointer scratch(long bytes) {
        if (scratchBytes < bytes) {
            if (scratch != null) {
                cuda.check(cuda.api.cudaFree(scratch), "cudaFree");
                scratch = null;
            }
            scratchBytes = Math.max(MIN_SCRATCH, Long.highestOneBit(bytes - 1) << 1);
            scratch = cuda.malloc(scratchBytes);
        }
        return scratch;
    }

    private int wireDatatype() {
        return wire == WireType.FP32 ? NcclLibrary.FLOAT32 : NcclLibrary.FLOAT16;
    }

    /**
     * Runs {@code body} with this rank's GPU as the thread's current device (NCCL, the events and
     * copies use it) and gives the thread's device back after. A failure inside aborts the group.
     */
    private <T> T onDevice(Supplier<T> body) {
        checkOpen();
        int previous = cuda.currentDevice();
        cuda.check(cuda.api.cudaSetDevice(gpu), "cudaSetDevice(" + gpu + ")");
        try {
            return body.get();
        } catch (CollectiveException e) {
            if (failure == null) { // a CUDA error: the group is as unusable as after an NCCL one
                failure = e;
                close();
            }
            throw e;
        } finally {
            cuda.api.cudaSetDevice(previous);
        }
    }

    /** The calls of {@code calls} as one NCCL group (concurrent), settled. */
    private void group(String what, java.util.function.IntSupplier calls) {
        int start = nccl.api.ncclGroupStart();
        if (start != NcclLibrary.SUCCESS) {
            throw fail(what + ": ncclGroupStart: " + nccl.describe(start, comm));
        }
        int r = calls.getAsInt();
        int end = nccl.api.ncclGroupEnd(); // also after a failed call: the group state is per thread
        if (r != NcclLibrary.SUCCESS) {
            throw fail(what + ": " + nccl.describe(r, comm));
        }
        settle(end, what, ioTimeout);
    }

    /** Waits until the work queued on this class's stream is done. */
    private void finish(String what) {
        cuda.check(cuda.api.cudaEventRecord(done, stream), "cudaEventRecord");
        long deadline = System.nanoTime() + ioTimeout.toNanos();
        for (int poll = 0; ; poll++) {
            int q = cuda.api.cudaEventQuery(done);
            if (q == CudaRuntime.SUCCESS) {
                return;
            }
            if (q != CudaRuntime.NOT_READY) {
                throw fail(what + ": CUDA error " + cuda.api.cudaGetErrorString(q) + " (" + q + ")");
            }
            int state = asyncState();
            if (state != NcclLibrary.SUCCESS && state != NcclLibrary.IN_PROGRESS) {
                throw fail(what + ": " + nccl.describe(state, comm));
            }
            pause(what, poll, deadline, ioTimeout);
        }
    }

    /**
     * After an NCCL call returned {@code result}: nothing for success; for ncclInProgress, polls
     * the communicator's state until the call has taken effect (NCCL allows no other call, and no
     * work on its stream, before); an error fails the group.
     */
    private void settle(int result, String what, Duration limit) {
        if (result == NcclLibrary.SUCCESS) {
            return;
        }
        if (result != NcclLibrary.IN_PROGRESS) {
            throw fail(what + ": " + nccl.describe(result, comm));
        }
        long deadline = System.nanoTime() + limit.toNanos();
        for (int poll = 0; ; poll++) {
            int state = asyncState();
            if (state == NcclLibrary.SUCCESS) {
                return;
            }
            if (state != NcclLibrary.IN_PROGRESS) {
                throw fail(what + ": " + nccl.describe(state, comm));
            }
            pause(what, poll, deadline, limit);
        }
    }

    private int asyncState() {
        IntByReference state = new IntByReference();
        int r = nccl.api.ncclCommGetAsyncError(comm, state);
        if (r != NcclLibrary.SUCCESS) {
            throw fail("ncclCommGetAsyncError: " + nccl.describe(r, comm));
        }
        return state.getValue();
    }

    /** Between two polls: fails on cancellation, interruption or the deadline, else spins or sleeps a little. */
    private void pause(String what, int poll, long deadline, Duration limit) {
        if (cancelled.getAsBoolean()) {
            throw fail(what + ": the task was cancelled (another rank failed)");
        }
        if (Thread.currentThread().isInterrupted()) {
            throw fail(what + ": interrupted");
        }
        if (System.nanoTime() - deadline > 0) {
            throw fail(what + ": not done within " + limit.toSeconds() + " s: a peer is gone or stuck");
        }
        if (poll < SPIN_POLLS) {
            Thread.onSpinWait();
        } else {
            LockSupport.parkNanos(POLL_NANOS);
        }
    }

    /** Aborts the communicator, closes the group and returns the exception to throw. */
    private CollectiveException fail(String message) {
        CollectiveException e = new CollectiveException("rank " + rank + " of " + worldSize + " (NCCL, GPU " + gpu
                + "): " + message);
        if (failure == null) {
            failure = e;
        }
        LOG.error(e.getMessage());
        close();
        return e;
    }

    private void checkOpen() {
        if (closed) {
            throw new CollectiveException("collective group is closed", failure);
        }
    }

    /**
     * Aborts the communicator (there is never queued work left to flush: every operation waited
     * for its own) and frees the stream, events and buffer. After a failure those stay: NCCL's
     * kernels might not have let go of them.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        abort();
        if (failure == null) {
            int previous = cuda.currentDevice();
            cuda.api.cudaSetDevice(gpu);
            if (scratch != null) {
                cuda.api.cudaFree(scratch);
            }
            cuda.api.cudaEventDestroy(ready);
            cuda.api.cudaEventDestroy(done);
            cuda.api.cudaStreamDestroy(stream);
            cuda.api.cudaSetDevice(previous);
        }
    }

    /** ncclCommAbort on a thread of its own, waited for a bounded time (it can hang in some NCCL versions). */
    private void abort() {
        Pointer c = comm;
        comm = null;
        if (c == null) {
            return;
        }
        Thread t = new Thread(() -> {
            cuda.api.cudaSetDevice(gpu);
            nccl.api.ncclCommAbort(c);
        }, "nccl-abort-rank" + rank);
        t.setDaemon(true);
        t.start();
        try {
            t.join(ABORT_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            LOG.error("rank {}: ncclCommAbort has not returned after {} s; leaving the communicator behind", rank,
                    ABORT_WAIT_MILLIS / 1000);
        }
    }
}
