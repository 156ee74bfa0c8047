package dev.eaglespark.collective;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * The two authenticated connections of one rank: to its right neighbour (data goes out) and from
 * its left neighbour (data comes in). Every operation is a sequence of {@link #exchange} steps
 * that send to the right while receiving from the left, so a ring of ranks never deadlocks on
 * full socket buffers.
 *
 * <p>The right connection carries no data towards us, so while we are sending it is also watched
 * for readability: readable means the right peer closed or reset it, and the step fails at once.
 * A failing rank closes all its sockets, so a failure travels around the ring within moments.
 */
final class RingLinks implements Closeable {
    /** Called after bytes arrived in the receive buffer (its position advanced). */
    interface ReceiveListener {
        void received(ByteBuffer recv);
    }

    /** Called when everything up to the send buffer's limit is written; raises the limit. */
    interface SendFiller {
        void fill(ByteBuffer send);
    }

    private final int rank;
    private final SocketChannel left;
    private final SocketChannel right;
    private final String leftName;
    private final String rightName;
    private final long ioTimeoutNanos;
    private final Selector selector;
    private final SelectionKey leftKey;
    private final SelectionKey rightKey;
    private final ByteBuffer probe = ByteBuffer.allocate(1);

    RingLinks(int rank, SocketChannel left, int leftRank, InetSocketAddress leftAddr,
            SocketChannel right, int rightRank, InetSocketAddress rightAddr, long ioTimeoutNanos)
            throws IOException {
        this.rank = rank;
        this.left = left;
        this.right = right;
        this.leftName = "left peer rank " + leftRank + " (" + describe(leftAddr) + ")";
        this.rightName = "right peer rank " + rightRank + " (" + describe(rightAddr) + ")";
        this.ioTimeoutNanos = ioTimeoutNanos;
        this.selector = Selector.open();
        left.configureBlocking(false);
        right.configureBlocking(false);
        this.leftKey = left.register(selector, 0);
        this.rightKey = right.register(selector, 0);
    }

    static String describe(InetSocketAddress a) {
        return a == null ? "?" : a.getHostString() + ":" + a.getPort();
    }

    String leftName() {
        return leftName;
    }

    String rightName() {
        return rightName;
    }

    /**
     * Writes {@code send} up to {@code sendTotal} bytes to the right and fills {@code recv} from
     * the left, concurrently. {@code send}'s limit may be raised by the listener up to
     * {@code sendTotal} (relaying data as it arrives). Either buffer may be null (nothing to do
     * on that side).
     */
    void exchange(ByteBuffer send, int sendTotal, ByteBuffer recv, ReceiveListener listener) {
        exchange(send, sendTotal, null, recv, listener);
    }

    /** As above, with {@code filler} producing the send data piece by piece as it is written. */
    void exchange(ByteBuffer send, int sendTotal, SendFiller filler, ByteBuffer recv,
            ReceiveListener listener) {
        long lastProgress = System.nanoTime();
        while (true) {
            boolean sendPending = send != null && send.position() < sendTotal;
            boolean recvPending = recv != null && recv.hasRemaining();
            if (!sendPending && !recvPending) {
                return;
            }
            boolean progress = false;
            if (sendPending && !send.hasRemaining() && filler != null) {
                filler.fill(send);
            }
            if (sendPending && send.hasRemaining()) {
                int w;
                try {
                    w = right.write(send);
                } catch (IOException e) {
                    throw failure("sending to " + rightName + " failed: " + e.getMessage(), e);
                }
                progress |= w > 0;
            }
            if (recvPending) {
                int r;
                try {
                    r = left.read(recv);
                } catch (IOException e) {
                    throw failure("receiving from " + leftName + " failed: " + e.getMessage(), e);
                }
                if (r < 0) {
                    throw failure(leftName + " closed the connection", null);
                }
                if (r > 0) {
                    progress = true;
                    if (listener != null) {
                        listener.received(recv);
                    }
                }
            }
            long now = System.nanoTime();
            if (progress) {
                lastProgress = now;
                continue;
            }
            long waited = now - lastProgress;
            if (waited >= ioTimeoutNanos) {
                String side = recvPending ? "no data from " + leftName : "";
                if (sendPending && send.hasRemaining()) {
                    side += (side.isEmpty() ? "" : " and ") + rightName + " not reading";
                }
                throw failure("timed out after " + (waited / 1_000_000_000.0) + " s: " + side,
                        null);
            }
            waitForIo(sendPending && send.hasRemaining(), recvPending,
                    ioTimeoutNanos - waited);
        }
    }

    private void waitForIo(boolean wantWrite, boolean wantRead, long maxNanos) {
        leftKey.interestOps(wantRead ? SelectionKey.OP_READ : 0);
        // While we still owe the right peer data, its close or reset is fatal and must end the
        // wait at once. Once our part is sent it may legitimately finish and close first.
        rightKey.interestOps(wantWrite ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : 0);
        try {
            selector.select(Math.max(1, Math.min(maxNanos / 1_000_000, 1000)));
        } catch (IOException e) {
            throw failure("selector failed: " + e.getMessage(), e);
        }
        boolean rightReadable = rightKey.isValid() && selector.selectedKeys().contains(rightKey)
                && rightKey.isReadable();
        selector.selectedKeys().clear();
        if (rightReadable) {
            checkRightAlive();
        }
    }

    /** The right peer never sends data; anything readable there is a close, reset or a bug. */
    private void checkRightAlive() {
        probe.clear();
        int r;
        try {
            r = right.read(probe);
        } catch (IOException e) {
            throw failure(rightName + " failed: " + e.getMessage(), e);
        }
        if (r < 0) {
            throw failure(rightName + " closed the connection", null);
        }
        if (r > 0) {
            throw failure("protocol error: unexpected data from " + rightName, null);
        }
    }

    private CollectiveException failure(String message, Throwable cause) {
        return new CollectiveException("rank " + rank + ": " + message, cause);
    }

    @Override
    public void close() {
        closeQuietly(left);
        closeQuietly(right);
        closeQuietly(selector);
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
