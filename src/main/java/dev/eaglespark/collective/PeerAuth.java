package dev.eaglespark.collective;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mutual HMAC-SHA256 challenge/response between ring neighbours; the secret itself never
 * crosses the wire.
 *
 * <pre>
 * acceptor  -> connector : MAGIC, VERSION, nonceA[32]
 * connector -> acceptor  : rank, worldSize, nonceC[32], HMAC(secret, "client", rank, acceptorRank, worldSize, nonceA, nonceC)
 * acceptor checks rank == its left neighbour and the MAC, else closes the connection
 * acceptor  -> connector : HMAC(secret, "server", same fields)
 * connector checks the MAC, else closes
 * connector -> acceptor  : OK (one byte): the connector has committed to this connection
 * </pre>
 *
 * Both nonces are fresh per connection, so a recorded exchange cannot be replayed.
 */
final class PeerAuth {
    static final int MAGIC = 0x45535052; // "ESPR"
    static final int VERSION = 2; // 2: the connector's OK byte
    static final int NONCE_BYTES = 32;
    static final int MAC_BYTES = 32;
    private static final byte OK = 0x4b;
    /** Minimum secret length accepted. */
    static final int MIN_SECRET_BYTES = 16;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] secret;
    private final int worldSize;

    PeerAuth(byte[] secret, int worldSize) {
        if (secret == null || secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException(
                    "secret must have at least " + MIN_SECRET_BYTES + " bytes");
        }
        this.secret = secret.clone();
        this.worldSize = worldSize;
    }

    /** Thrown when the other side does not prove the secret or speaks another protocol. */
    static final class AuthException extends IOException {
        private static final long serialVersionUID = 1L;

        AuthException(String message) {
            super(message);
        }
    }

    /**
     * One acceptor-side handshake on a non-blocking channel, advanced as far as the socket
     * allows at each call, so that one thread can authenticate many connections at once and a
     * silent or slow stranger holds nothing but its own socket.
     */
    final class Acceptance {
        private final SocketChannel ch;
        private final int myRank;
        private final int expectedRank;
        private final byte[] nonceA = nonce();
        private ByteBuffer out;
        private ByteBuffer in;
        private int phase; // 0 hello out, 1 reply in, 2 proof out, 3 OK in, 4 done

        Acceptance(SocketChannel ch, int myRank, int expectedRank) {
            this.ch = ch;
            this.myRank = myRank;
            this.expectedRank = expectedRank;
            out = ByteBuffer.allocate(8 + NONCE_BYTES);
            out.putInt(MAGIC).putInt(VERSION).put(nonceA).flip();
        }

        SocketChannel channel() {
            return ch;
        }

        /** What to wait for before the next {@link #advance}. */
        int interestOps() {
            return phase == 0 || phase == 2 ? SelectionKey.OP_WRITE : SelectionKey.OP_READ;
        }

        /** Moves the handshake on; true once the peer is authenticated. Throws if it is not the peer. */
        boolean advance() throws IOException {
            while (phase < 4) {
                if (phase == 0 || phase == 2) {
                    ch.write(out);
                    if (out.hasRemaining()) {
                        return false;
                    }
                    in = ByteBuffer.allocate(phase == 0 ? 8 + NONCE_BYTES + MAC_BYTES : 1);
                } else {
                    if (ch.read(in) < 0) {
                        throw new EOFException("connection closed by the other side");
                    }
                    if (in.hasRemaining()) {
                        return false;
                    }
                    in.flip();
                    if (phase == 1) {
                        out = ByteBuffer.wrap(checkReply(in));
                    } else if (in.get(0) != OK) {
                        throw new AuthException("peer did not confirm the connection");
                    }
                }
                phase++;
            }
            return true;
        }

        /** Checks the connector's proof; returns ours. */
        private byte[] checkReply(ByteBuffer reply) throws AuthException {
            int peerRank = reply.getInt();
            int peerWorld = reply.getInt();
            byte[] nonceC = new byte[NONCE_BYTES];
            reply.get(nonceC);
            byte[] macC = new byte[MAC_BYTES];
            reply.get(macC);
            byte[] expected = mac("client", peerRank, myRank, peerWorld, nonceA, nonceC);
            if (!MessageDigest.isEqual(expected, macC)) {
                throw new AuthException("peer did not prove the job secret (claimed rank " + peerRank
                        + ")");
            }
            if (peerWorld != worldSize || peerRank != expectedRank) {
                throw new AuthException("authenticated peer is rank " + peerRank + " of " + peerWorld
                        + ", expected rank " + expectedRank + " of " + worldSize);
            }
            return mac("server", peerRank, myRank, worldSize, nonceA, nonceC);
        }
    }

    /** Connector side: prove the secret to rank {@code peerRank} and check its proof. */
    void connect(SocketChannel ch, int myRank, int peerRank, long deadlineNanos)
            throws IOException {
        ByteBuffer hello = ByteBuffer.allocate(8 + NONCE_BYTES);
        TimedIo.readFully(ch, hello, deadlineNanos);
        hello.flip();
        int magic = hello.getInt();
        int version = hello.getInt();
        if (magic != MAGIC || version != VERSION) {
            throw new AuthException(String.format(
                    "not an eaglespark ring listener (magic %08x, version %d)", magic, version));
        }
        byte[] nonceA = new byte[NONCE_BYTES];
        hello.get(nonceA);
        byte[] nonceC = nonce();
        ByteBuffer reply = ByteBuffer.allocate(8 + NONCE_BYTES + MAC_BYTES);
        reply.putInt(myRank).putInt(worldSize).put(nonceC)
                .put(mac("client", myRank, peerRank, worldSize, nonceA, nonceC)).flip();
        TimedIo.writeFully(ch, reply, deadlineNanos);

        ByteBuffer proof = ByteBuffer.allocate(MAC_BYTES);
        TimedIo.readFully(ch, proof, deadlineNanos);
        byte[] expected = mac("server", myRank, peerRank, worldSize, nonceA, nonceC);
        if (!MessageDigest.isEqual(expected, proof.array())) {
            throw new AuthException("listener did not prove the job secret");
        }
        TimedIo.writeFully(ch, ByteBuffer.wrap(new byte[] {OK}), deadlineNanos);
    }

    private static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    private byte[] mac(String role, int connectorRank, int acceptorRank, int world, byte[] nonceA,
            byte[] nonceC) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(("eaglespark-ring-v1|" + role).getBytes(StandardCharsets.US_ASCII));
            mac.update(ByteBuffer.allocate(12).putInt(connectorRank).putInt(acceptorRank)
                    .putInt(world).array());
            mac.update(nonceA);
            mac.update(nonceC);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
