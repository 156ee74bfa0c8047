package dev.eaglespark.collective;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.SocketChannel;
import dev.eaglespark.tensors.Fp16;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Ring collectives over TCP. Each rank connects to its right neighbour {@code (rank + 1) % n}
 * and accepts from its left neighbour {@code (rank - 1 + n) % n}; both connections are
 * authenticated with the job secret ({@link PeerAuth}).
 *
 * <p>All-reduce is the bandwidth-optimal ring: for every bucket of the array, a reduce-scatter
 * ({@code n - 1} steps, each rank adding the chunk it receives from the left into its own copy)
 * then an all-gather ({@code n - 1} steps, copying the finished chunks around). Each element of
 * chunk {@code c} is summed in the fixed order {@code c, c+1, ..., c+n-1 (mod n)} and the finished
 * value travels unchanged, so all ranks end bit-identical.
 */
public final class RingCollective implements Collective {
    private static final Logger LOG = LogManager.getLogger(RingCollective.class);

    private static final int HEADER_MAGIC = 0x45535048;
    private static final int OP_ALLREDUCE_FLOAT = 1;
    private static final int OP_ALLGATHER = 2;
    private static final int OP_BROADCAST = 3;
    private static final int HEADER_BYTES = 24;
    /** Received elements are reduced in pieces of this many, as they arrive. */
    private static final int REDUCE_PIECE = 16 * 1024;
    /** Outgoing elements are encoded in pieces of this many, just before they are written. */
    private static final int SEND_PIECE = 64 * 1024;

    private final int rank;
    private final int worldSize;
    private final CollectiveOptions options;
    private final RingLinks links;
    private final RingListener listener;
    private final WireType wire;
    private long sequence;
    private volatile boolean closed;
    private CollectiveException failure;

    private ByteBuffer sendBuf;
    private ByteBuffer recvBuf;
    /** Whole-capacity views of the buffers, for absolute bulk access. */
    private FloatBuffer sendFloats;
    private FloatBuffer recvFloats;
    private ShortBuffer sendShorts;
    private ShortBuffer recvShorts;
    private final ByteBuffer headerOut = ByteBuffer.allocateDirect(HEADER_BYTES)
            .order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer headerIn = ByteBuffer.allocateDirect(HEADER_BYTES)
            .order(ByteOrder.LITTLE_ENDIAN);
    private final float[] floatScratch = new float[REDUCE_PIECE];
    private final short[] shortScratch = new short[REDUCE_PIECE];
    private final float[] ownFloats = new float[REDUCE_PIECE];
    private final short[] ownShorts = new short[REDUCE_PIECE];

    private RingCollective(int rank, int worldSize, CollectiveOptions options, RingLinks links,
            RingListener listener) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.options = options;
        this.links = links;
        this.listener = listener;
        this.wire = options.wireType();
    }

    /**
     * Builds the ring. {@code peers.get(i)} is rank i's published {@link RingListener#address()};
     * {@code listener} is this rank's own, opened before the addresses were exchanged. With a
     * world size of 1 no socket is used and a {@link LocalCollective} is returned (the listener
     * is closed). Waits up to the options' connect timeout for both neighbours; connections that
     * fail authentication are logged, closed and ignored.
     */
    public static Collective connect(RingListener listener, int rank, int worldSize,
            List<InetSocketAddress> peers, byte[] secret) {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(peers, "peers");
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " of world size " + worldSize);
        }
        if (peers.size() != worldSize) {
            throw new IllegalArgumentException(
                    "need " + worldSize + " peer addresses, got " + peers.size());
        }
        if (worldSize == 1) {
            listener.close();
            return new LocalCollective();
        }
        CollectiveOptions options = listener.options();
        PeerAuth auth = new PeerAuth(secret, worldSize);
        int leftRank = (rank - 1 + worldSize) % worldSize;
        int rightRank = (rank + 1) % worldSize;
        InetSocketAddress leftAddr = peers.get(leftRank);
        InetSocketAddress rightAddr = peers.get(rightRank);
        long deadline = System.nanoTime() + options.connectTimeout().toNanos();

        CompletableFuture<SocketChannel> accepted = new CompletableFuture<>();
        Thread acceptor = new Thread(() -> {
            try {
                accepted.complete(RingAcceptor.acceptLeft(listener, auth, rank, leftRank, deadline));
            } catch (Throwable t) {
                accepted.completeExceptionally(t);
            }
        }, "ring-accept-rank" + rank);
        acceptor.setDaemon(true);
        acceptor.start();

        SocketChannel right = null;
        SocketChannel left = null;
        try {
            right = connectRight(auth, rank, rightRank, rightAddr, deadline, options);
            long waitNanos = Math.max(0, deadline - System.nanoTime()) + 1_000_000_000L;
            left = accepted.get(waitNanos, TimeUnit.NANOSECONDS);
            RingLinks links = new RingLinks(rank, left, leftRank, leftAddr, right, rightRank,
                    rightAddr, options.ioTimeout().toNanos());
            LOG.info("rank {}/{}: ring connected ({} -> me -> {})", rank, worldSize,
                    links.leftName(), links.rightName());
            listener.close(); // both neighbours are in; nobody else may connect
            return new RingCollective(rank, worldSize, options, links, listener);
        } catch (ExecutionException e) {
            closeAll(right, listener);
            Throwable c = e.getCause();
            if (c instanceof CollectiveException) {
                throw (CollectiveException) c;
            }
            throw new CollectiveException("rank " + rank + ": accepting left peer rank "
                    + leftRank + " (" + RingLinks.describe(leftAddr) + ") failed: " + c, c);
        } catch (TimeoutException e) {
            closeAll(right, listener);
            throw new CollectiveException("rank " + rank + ": left peer rank " + leftRank + " ("
                    + RingLinks.describe(leftAddr) + ") did not connect within "
                    + options.connectTimeout(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeAll(right, listener);
            throw new CollectiveException("rank " + rank + ": interrupted while connecting", e);
        } catch (IOException | RuntimeException e) {
            closeAll(right, left, listener);
            if (e instanceof CollectiveException) {
                throw (CollectiveException) e;
            }
            throw new CollectiveException("rank " + rank + ": ring set-up failed: " + e, e);
        } finally {
            if (left == null) {
                listener.close(); // stops the acceptor thread's select loop
                accepted.thenAccept(RingCollective::closeAll);
            }
        }
    }

    private static SocketChannel connectRight(PeerAuth auth, int rank, int rightRank,
            InetSocketAddress addr, long deadline, CollectiveOptions options) {
        IOException last = null;
        long backoffMs = 50;
        while (System.nanoTime() < deadline) {
            SocketChannel ch = null;
            try {
                ch = SocketChannel.open();
                configure(ch, options);
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                ch.socket().connect(addr, (int) Math.min(left, Integer.MAX_VALUE));
                ch.configureBlocking(false);
                auth.connect(ch, rank, rightRank, deadline);
                return ch;
            } catch (IOException e) {
                last = e;
                closeAll(ch);
                LOG.debug("rank {}: connecting to right peer rank {} at {}: {}", rank, rightRank,
                        addr, e.toString());
            }
            long sleep = Math.min(backoffMs, (deadline - System.nanoTime()) / 1_000_000);
            if (sleep > 0) {
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CollectiveException("rank " + rank + ": interrupted while connecting",
                            e);
                }
            }
            backoffMs = Math.min(1000, backoffMs * 2);
        }
        throw new CollectiveException("rank " + rank + ": could not connect to right peer rank "
                + rightRank + " (" + RingLinks.describe(addr) + ") within "
                + options.connectTimeout() + (last == null ? "" : ": last error: " + last), last);
    }

    static void configure(SocketChannel ch, CollectiveOptions options) throws IOException {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        if (options.socketBufferBytes() > 0) {
            ch.setOption(StandardSocketOptions.SO_SNDBUF, options.socketBufferBytes());
            ch.setOption(StandardSocketOptions.SO_RCVBUF, options.socketBufferBytes());
        }
    }

    private static void closeAll(AutoCloseable... cs) {
        for (AutoCloseable c : cs) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing anyway
                }
            }
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    public CollectiveOptions options() {
        return options;
    }

    // ---------------------------------------------------------------- operations

    @Override
    public void allReduceSum(float[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        allReduce(new FloatArrayChunks(data), offset, length, 4);
    }

    @Override
    public void allReduceSum(ByteBuffer elements) {
        if (elements.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("the buffer must be little-endian");
        }
        int eb = wire.bytesPerElement();
        if (elements.remaining() % eb != 0) {
            throw new IllegalArgumentException(elements.remaining() + " bytes are not whole " + wire
                    + " elements");
        }
        allReduce(new WireBufferChunks(elements.slice().order(ByteOrder.LITTLE_ENDIAN)), 0,
                elements.remaining() / eb, eb);
    }

    @Override
    public WireType wireType() {
        return wire;
    }

    /** Ring rounds over buckets of the options' size (counted in bytes of the caller's elements). */
    private void allReduce(Chunks data, int offset, int length, int callerBytes) {
        begin();
        try {
            exchangeHeader(OP_ALLREDUCE_FLOAT, length);
            int bucket = Math.max(1, options.bucketBytes() / callerBytes);
            for (int start = 0; start < length; start += bucket) {
                ringAllReduce(data, offset + start, Math.min(bucket, length - start));
            }
        } catch (RuntimeException e) {
            throw fail(e);
        }
    }

    @Override
    public double[] allReduceSum(double[] values) {
        ByteBuffer mine = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            mine.putDouble(v);
        }
        ByteBuffer[] all = allGather(mine.array());
        double[] out = new double[values.length];
        for (ByteBuffer b : all) { // rank order: identical on every rank
            for (int i = 0; i < out.length; i++) {
                out[i] += b.getDouble(i * 8);
            }
        }
        return out;
    }

    @Override
    public long[] allReduceSum(long[] values) {
        ByteBuffer mine = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            mine.putLong(v);
        }
        ByteBuffer[] all = allGather(mine.array());
        long[] out = new long[values.length];
        for (ByteBuffer b : all) {
            for (int i = 0; i < out.length; i++) {
                out[i] += b.getLong(i * 8);
            }
        }
        return out;
    }

    @Override
    public void barrier() {
        // An all-gather completes on a rank only after a block from every rank has reached it.
        allGather(new byte[0]);
    }

    @Override
    public byte[] broadcast(byte[] data) {
        if (rank == 0 && data == null) {
            throw new IllegalArgumentException("rank 0 must pass the data to broadcast");
        }
        begin();
        try {
            exchangeHeader(OP_BROADCAST, 0);
            boolean forward = rank != worldSize - 1;
            ByteBuffer len = ByteBuffer.allocateDirect(8).order(ByteOrder.LITTLE_ENDIAN);
            long total;
            if (rank == 0) {
                total = data.length;
                len.putLong(0, total);
                links.exchange(len, 8, null, null);
            } else {
                links.exchange(null, 0, len, null);
                total = len.getLong(0);
                if (total < 0 || total > Integer.MAX_VALUE - 8) {
                    throw new CollectiveException("rank " + rank + ": bad broadcast length "
                            + total + " from " + links.leftName());
                }
                if (forward) {
                    len.flip();
                    links.exchange(len, 8, null, null);
                }
            }
            byte[] out = rank == 0 ? data : new byte[(int) total];
            int segment = Math.max(1, options.bucketBytes());
            ensureBuffers(Math.min(segment, (int) total));
            for (int pos = 0; pos < total; pos += segment) {
                int n = (int) Math.min(segment, total - pos);
                if (rank == 0) {
                    sendBuf.clear();
                    sendBuf.put(data, pos, n).flip();
                    links.exchange(sendBuf, n, null, null);
                } else {
                    recvBuf.clear().limit(n);
                    ByteBuffer relay = forward ? recvBuf.duplicate().flip() : null;
                    // Forward each byte to the right as soon as it arrived from the left.
                    links.exchange(relay, n, recvBuf,
                            forward ? r -> relay.limit(r.position()) : null);
                    recvBuf.flip();
                    recvBuf.get(out, pos, n);
                }
            }
            return out;
        } catch (RuntimeException e) {
            throw fail(e);
        }
    }

    /** Every rank's equally sized block, indexed by rank. */
    private ByteBuffer[] allGather(byte[] mine) {
        begin();
        try {
            exchangeHeader(OP_ALLGATHER, mine.length);
            ByteBuffer[] blocks = new ByteBuffer[worldSize];
            blocks[rank] = ByteBuffer.wrap(mine.clone()).order(ByteOrder.LITTLE_ENDIAN);
            for (int s = 0; s < worldSize - 1; s++) {
                int sendFrom = Math.floorMod(rank - s, worldSize);
                int recvFrom = Math.floorMod(rank - s - 1, worldSize);
                // A zero-length block (barrier) still sends one byte so every step waits for
                // the left neighbour.
                int size = Math.max(1, mine.length);
                ByteBuffer out = mine.length == 0 ? ByteBuffer.allocate(1)
                        : blocks[sendFrom].duplicate().clear();
                ByteBuffer in = ByteBuffer.allocate(size);
                links.exchange(out, size, in, null);
                blocks[recvFrom] = ByteBuffer.wrap(in.array(), 0, mine.length).slice()
                        .order(ByteOrder.LITTLE_ENDIAN);
            }
            return blocks;
        } catch (RuntimeException e) {
            throw fail(e);
        }
    }

    // ---------------------------------------------------------------- ring all-reduce

    /**
     * The array being reduced, as the ring sees it: elements are moved between it and the wire
     * buffers a piece at a time. Two forms share one schedule: a float[] (encoded to the wire type
     * on send) and a buffer already in the wire type (fp16 straight from the GPU).
     */
    private interface Chunks {
        /** Encodes elements [off + from, +len) into the send buffer at element position from. */
        void encode(int off, int from, int len);

        /** Folds received elements [from, to) of the chunk starting at element off into the data. */
        void decode(int off, int from, int to, boolean add);

        /** Called on the chunk [from, to) this rank finished, before the all-gather sends it. */
        void finished(int from, int to);

        /**
         * The wire bytes of elements [off, off + len) in place, when the data already is in the
         * wire type: sent from and received into without a copy. Null otherwise.
         */
        default ByteBuffer wireView(int off, int len) {
            return null;
        }
    }

    private void ringAllReduce(Chunks a, int base, int len) {
        int n = worldSize;
        int maxChunk = (len + n - 1) / n;
        ensureBuffers(maxChunk * wire.bytesPerElement());
        // Reduce-scatter: after step s, chunk (rank - s - 1) holds the sum of s + 2 ranks.
        for (int s = 0; s < n - 1; s++) {
            int sendC = Math.floorMod(rank - s, n);
            int recvC = Math.floorMod(rank - s - 1, n);
            step(a, base + chunkStart(sendC, len), chunkLen(sendC, len),
                    base + chunkStart(recvC, len), chunkLen(recvC, len), true);
        }
        int owned = Math.floorMod(rank + 1, n);
        int from = base + chunkStart(owned, len);
        a.finished(from, from + chunkLen(owned, len));
        // All-gather: pass the finished chunks around.
        for (int s = 0; s < n - 1; s++) {
            int sendC = Math.floorMod(rank + 1 - s, n);
            int recvC = Math.floorMod(rank - s, n);
            step(a, base + chunkStart(sendC, len), chunkLen(sendC, len),
                    base + chunkStart(recvC, len), chunkLen(recvC, len), false);
        }
    }

    private int chunkStart(int c, int len) {
        return (int) ((long) c * len / worldSize);
    }

    private int chunkLen(int c, int len) {
        return chunkStart(c + 1, len) - chunkStart(c, len);
    }

    /** Sends a[sendOff, +sendLen) right while receiving into a[recvOff, +recvLen) from the left. */
    private void step(Chunks a, int sendOff, int sendLen, int recvOff, int recvLen, boolean add) {
        int eb = wire.bytesPerElement();
        ByteBuffer sendView = a.wireView(sendOff, sendLen);
        // A finished chunk from the left (all-gather) lands in place when the data is wire-typed.
        ByteBuffer recvView = add ? null : a.wireView(recvOff, recvLen);
        ByteBuffer send = sendView;
        RingLinks.SendFiller filler = null;
        if (send == null) {
            // Encode the outgoing chunk a piece at a time, just ahead of the socket, so the right
            // neighbour starts receiving (and reducing) without waiting for the whole chunk.
            send = sendBuf.clear().limit(0);
            int[] encoded = {0};
            filler = s -> {
                int m = Math.min(SEND_PIECE, sendLen - encoded[0]);
                a.encode(sendOff, encoded[0], m);
                encoded[0] += m;
                s.limit(encoded[0] * eb);
            };
        }
        if (recvView != null) {
            links.exchange(send, sendLen * eb, filler, recvView, null);
            return;
        }
        recvBuf.clear().limit(recvLen * eb);
        int[] done = {0};
        links.exchange(send, sendLen * eb, filler, recvBuf, r -> {
            int complete = r.position() / eb;
            if (complete - done[0] >= REDUCE_PIECE || complete == recvLen) {
                a.decode(recvOff, done[0], complete, add);
                done[0] = complete;
            }
        });
        if (done[0] < recvLen) {
            a.decode(recvOff, done[0], recvLen, add);
        }
    }

    /** A float[] reduced in fp32; on an fp16 wire each send is rounded to half. */
    private final class FloatArrayChunks implements Chunks {
        private final float[] a;

        FloatArrayChunks(float[] a) {
            this.a = a;
        }

        @Override
        public void encode(int off, int from, int len) {
            if (wire == WireType.FP32) {
                sendFloats.put(from, a, off + from, len);
                return;
            }
            for (int p = 0; p < len; p += REDUCE_PIECE) {
                int m = Math.min(REDUCE_PIECE, len - p);
                int src = off + from + p;
                for (int i = 0; i < m; i++) {
                    shortScratch[i] = Fp16.fromFloat(a[src + i]);
                }
                sendShorts.put(from + p, shortScratch, 0, m);
            }
        }

        @Override
        public void decode(int off, int from, int to, boolean add) {
            for (int p = from; p < to; p += REDUCE_PIECE) {
                int m = Math.min(REDUCE_PIECE, to - p);
                int dst = off + p;
                if (wire == WireType.FP32) {
                    if (!add) {
                        recvFloats.get(p, a, dst, m);
                        continue;
                    }
                    recvFloats.get(p, floatScratch, 0, m);
                } else {
                    recvShorts.get(p, shortScratch, 0, m);
                    for (int i = 0; i < m; i++) {
                        floatScratch[i] = Fp16.toFloat(shortScratch[i]);
                    }
                    if (!add) {
                        System.arraycopy(floatScratch, 0, a, dst, m);
                        continue;
                    }
                }
                for (int i = 0; i < m; i++) {
                    a[dst + i] += floatScratch[i];
                }
            }
        }

        @Override
        public void finished(int from, int to) {
            if (wire == WireType.FP16) {
                // The others receive this chunk rounded to fp16; round our copy the same way.
                for (int i = from; i < to; i++) {
                    a[i] = Fp16.toFloat(Fp16.fromFloat(a[i]));
                }
            }
        }
    }

    /**
     * A buffer of wire-type elements, reduced in place: sends are plain copies, and each received
     * partial sum is added to this rank's element in fp32 and stored back in the wire type.
     */
    private final class WireBufferChunks implements Chunks {
        private final ByteBuffer data;
        private final FloatBuffer floats;
        private final ShortBuffer shorts;

        WireBufferChunks(ByteBuffer data) {
            this.data = data;
            this.floats = wire == WireType.FP32 ? data.asFloatBuffer() : null;
            this.shorts = wire == WireType.FP16 ? data.asShortBuffer() : null;
        }

        @Override
        public void encode(int off, int from, int len) {
            throw new IllegalStateException("wire-typed data is sent in place (wireView)");
        }

        /** Reduce-scatter only: finished chunks of the all-gather are received in place. */
        @Override
        public void decode(int off, int from, int to, boolean add) {
            if (!add) {
                throw new IllegalStateException("wire-typed data is all-gathered in place (wireView)");
            }
            for (int p = from; p < to; p += REDUCE_PIECE) {
                int m = Math.min(REDUCE_PIECE, to - p);
                int dst = off + p;
                if (floats != null) {
                    recvFloats.get(p, floatScratch, 0, m);
                    floats.get(dst, ownFloats, 0, m);
                    for (int i = 0; i < m; i++) {
                        ownFloats[i] += floatScratch[i];
                    }
                    floats.put(dst, ownFloats, 0, m);
                } else {
                    recvShorts.get(p, shortScratch, 0, m);
                    shorts.get(dst, ownShorts, 0, m);
                    for (int i = 0; i < m; i++) {
                        ownShorts[i] = Fp16.fromFloat(Fp16.toFloat(ownShorts[i]) + Fp16.toFloat(shortScratch[i]));
                    }
                    shorts.put(dst, ownShorts, 0, m);
                }
            }
        }

        @Override
        public void finished(int from, int to) {
            // already in the wire type: what this rank holds is what the others receive
        }

        @Override
        public ByteBuffer wireView(int off, int len) {
            int eb = wire.bytesPerElement();
            return data.slice(off * eb, len * eb);
        }
    }

    private void ensureBuffers(int bytes) {
        int want = Math.max(bytes, 64);
        if (sendBuf == null || sendBuf.capacity() < want) {
            sendBuf = ByteBuffer.allocateDirect(want).order(ByteOrder.LITTLE_ENDIAN);
            recvBuf = ByteBuffer.allocateDirect(want).order(ByteOrder.LITTLE_ENDIAN);
            sendFloats = sendBuf.asFloatBuffer();
            recvFloats = recvBuf.asFloatBuffer();
            sendShorts = sendBuf.asShortBuffer();
            recvShorts = recvBuf.asShortBuffer();
        }
    }

    // ---------------------------------------------------------------- bookkeeping

    /** Checks that the left neighbour is in the same operation as this rank. */
    private void exchangeHeader(int op, long length) {
        long seq = sequence++;
        headerOut.clear();
        headerOut.putInt(0, HEADER_MAGIC).putInt(4, op).putLong(8, seq).putLong(16, length);
        headerIn.clear();
        links.exchange(headerOut, HEADER_BYTES, headerIn, null);
        int magic = headerIn.getInt(0);
        int lop = headerIn.getInt(4);
        long lseq = headerIn.getLong(8);
        long llen = headerIn.getLong(16);
        if (magic != HEADER_MAGIC || lop != op || lseq != seq || llen != length) {
            throw new CollectiveException(String.format(
                    "rank %d: mismatched collective calls: this rank is in %s(length %d) #%d, %s"
                            + " is in %s(length %d) #%d",
                    rank, opName(op), length, seq, links.leftName(), opName(lop), llen, lseq));
        }
    }

    private static String opName(int op) {
        switch (op) {
            case OP_ALLREDUCE_FLOAT:
                return "allReduce";
            case OP_ALLGATHER:
                return "allGather/barrier";
            case OP_BROADCAST:
                return "broadcast";
            default:
                return "op" + op;
        }
    }

    private void begin() {
        if (failure != null) {
            throw new CollectiveException("rank " + rank + ": group failed earlier: "
                    + failure.getMessage(), failure);
        }
        if (closed) {
            throw new CollectiveException("rank " + rank + ": collective group is closed");
        }
    }

    private CollectiveException fail(RuntimeException e) {
        CollectiveException ce = e instanceof CollectiveException
                ? (CollectiveException) e
                : new CollectiveException("rank " + rank + ": " + e, e);
        if (failure == null) {
            failure = ce;
        }
        // Closing our sockets makes the neighbours fail at once instead of waiting for a timeout.
        close();
        return ce;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        links.close();
        listener.close();
    }
}
