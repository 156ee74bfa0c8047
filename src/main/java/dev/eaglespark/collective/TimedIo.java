package dev.eaglespark.collective;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/** Blocking-style reads and writes with a deadline, on a non-blocking channel (handshakes). */
final class TimedIo {
    private TimedIo() {}

    static void readFully(SocketChannel ch, ByteBuffer dst, long deadlineNanos) throws IOException {
        try (Selector sel = Selector.open()) {
            SelectionKey key = ch.register(sel, SelectionKey.OP_READ);
            while (dst.hasRemaining()) {
                int n = ch.read(dst);
                if (n < 0) {
                    throw new EOFException("connection closed by the other side");
                }
                if (n == 0) {
                    await(sel, deadlineNanos, "read");
                }
            }
            key.cancel();
        }
    }

    static void writeFully(SocketChannel ch, ByteBuffer src, long deadlineNanos) throws IOException {
        try (Selector sel = Selector.open()) {
            SelectionKey key = ch.register(sel, SelectionKey.OP_WRITE);
            while (src.hasRemaining()) {
                if (ch.write(src) == 0) {
                    await(sel, deadlineNanos, "write");
                }
            }
            key.cancel();
        }
    }

    private static void await(Selector sel, long deadlineNanos, String what) throws IOException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException(what + " timed out");
        }
        sel.select(Math.max(1, left / 1_000_000));
        sel.selectedKeys().clear();
    }
}
