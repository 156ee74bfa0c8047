package dev.eaglespark.collective;

import java.io.IOException;
import java.nio.ByteBuffer;
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
     * Acceptor side. Returns normally only when the peer proved the secret and is
     * {@code expectedRank}.
     */
    void accept(SocketChannel ch, int myRank, int expectedRank, long deadlineNanos)
            throws IOException {
        byte[] nonceA = nonce();
        ByteBuffer hello = ByteBuffer.allocate(8 + NONCE_BYTES);
        hello.putInt(MAGIC).putInt(VERSION).put(nonceA).flip();
        TimedIo.writeFully(ch, hello, deadlineNanos);

        ByteBuffer reply = ByteBuffer.allocate(8 + NONCE_BYTES + MAC_BYTES);
        TimedIo.readFully(ch, reply, deadlineNanos);
        reply.flip();
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
        ByteBuffer proof = ByteBuffer.wrap(mac("server", peerRank, myRank, worldSize, nonceA,
                nonceC));
        TimedIo.writeFully(ch, proof, deadlineNanos);
        ByteBuffer ok = ByteBuffer.allocate(1);
        TimedIo.readFully(ch, ok, deadlineNanos);
        if (ok.get(0) != OK) {
            throw new AuthException("peer did not confirm the connection");
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
