package dev.eaglespark.collective;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.Deque;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Accepts connections on a rank's listener and authenticates them all at once, on one thread,
 * until its left neighbour has proved the job secret. Each connection has its own handshake
 * deadline, and at most {@link CollectiveOptions#maxPendingHandshakes()} are held
 * unauthenticated (past that the oldest is dropped), so strangers, idle or sending garbage,
 * cannot delay the ranks: the neighbour's handshake goes on beside theirs.
 */
final class RingAcceptor {
    private static final Logger LOG = LogManager.getLogger(RingAcceptor.class);
    /** Refusals logged as warnings; the rest at debug, counted in the summary. */
    private static final int WARNINGS = 10;

    private final RingListener listener;
    private final PeerAuth auth;
    private final int rank;
    private final int leftRank;
    private final CollectiveOptions options;
    private final Deque<PeerAuth.Acceptance> pending = new ArrayDeque<>();
    private final java.util.Map<PeerAuth.Acceptance, Long> deadlines = new java.util.HashMap<>();
    private int refused;

    private RingAcceptor(RingListener listener, PeerAuth auth, int rank, int leftRank) {
        this.listener = listener;
        this.auth = auth;
        this.rank = rank;
        this.leftRank = leftRank;
        this.options = listener.options();
    }

    /** The left neighbour's authenticated connection, or a {@link CollectiveException} at {@code deadline}. */
    static SocketChannel acceptLeft(RingListener listener, PeerAuth auth, int rank, int leftRank, long deadline)
            throws IOException {
        return new RingAcceptor(listener, auth, rank, leftRank).run(deadline);
    }

    private SocketChannel run(long deadline) throws IOException {
        SocketChannel winner = null;
        try (Selector sel = Selector.open()) {
            listener.channel().register(sel, SelectionKey.OP_ACCEPT);
            while (winner == null) {
                long now = System.nanoTime();
                if (now - deadline >= 0) {
                    throw new CollectiveException("rank " + rank + ": left peer rank " + leftRank
                            + " did not connect and authenticate within " + options.connectTimeout()
                            + (refused > 0 ? " (" + refused + " other connections refused)" : ""));
                }
                long wake = expireHandshakes(now, deadline);
                sel.select(Math.max(1, Math.min((wake - now) / 1_000_000, 1000)));
                for (SelectionKey key : sel.selectedKeys()) {
                    if (key.isValid() && key.isAcceptable()) {
                        acceptAll(sel);
                    } else if (key.isValid() && winner == null) {
                        winner = advance(key);
                    }
                }
                sel.selectedKeys().clear();
            }
            if (refused > 0) {
                LOG.info("rank {}: left peer rank {} authenticated; {} other connections refused", rank, leftRank,
                        refused);
            }
            return winner;
        } finally {
            for (PeerAuth.Acceptance a : pending) {
                if (a.channel() != winner) {
                    close(a.channel());
                }
            }
        }
    }

    /** Refuses the handshakes past their deadline; returns when the next one (or the whole wait) ends. */
    private long expireHandshakes(long now, long deadline) {
        long wake = deadline;
        for (var it = pending.iterator(); it.hasNext(); ) {
            PeerAuth.Acceptance a = it.next();
            long due = deadlines.get(a);
            if (now - due >= 0) {
                it.remove();
                deadlines.remove(a);
                refuse(a, "no handshake within " + options.handshakeTimeout());
            } else if (due - wake < 0) {
                wake = due;
            }
        }
        return wake;
    }

    private void acceptAll(Selector sel) throws IOException {
        SocketChannel ch;
        while ((ch = listener.channel().accept()) != null) {
            try {
                ch.configureBlocking(false);
                RingCollective.configure(ch, options);
            } catch (IOException e) {
                close(ch);
                continue;
            }
            if (pending.size() >= options.maxPendingHandshakes()) {
                PeerAuth.Acceptance oldest = pending.removeFirst();
                deadlines.remove(oldest);
                refuse(oldest, "dropped: " + options.maxPendingHandshakes()
                        + " unauthenticated connections pending, this the oldest");
            }
            PeerAuth.Acceptance a = auth.new Acceptance(ch, rank, leftRank);
            pending.addLast(a);
            deadlines.put(a, System.nanoTime() + options.handshakeTimeout().toNanos());
            ch.register(sel, a.interestOps(), a);
        }
    }

    /** Moves one handshake on; its channel if that completed it. */
    private SocketChannel advance(SelectionKey key) {
        PeerAuth.Acceptance a = (PeerAuth.Acceptance) key.attachment();
        try {
            if (a.advance()) {
                key.cancel();
                return a.channel();
            }
            key.interestOps(a.interestOps());
        } catch (IOException | RuntimeException e) {
            pending.remove(a);
            deadlines.remove(a);
            refuse(a, e.toString());
        }
        return null;
    }

    private void refuse(PeerAuth.Acceptance a, String why) {
        refused++;
        String from;
        try {
            from = String.valueOf(a.channel().getRemoteAddress());
        } catch (IOException e) {
            from = "?";
        }
        if (refused <= WARNINGS) {
            LOG.warn("rank {}: refused connection from {}: {}{}", rank, from, why,
                    refused == WARNINGS ? " (further refusals at debug level)" : "");
        } else {
            LOG.debug("rank {}: refused connection from {}: {}", rank, from, why);
        }
        close(a.channel());
    }

    private static void close(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
