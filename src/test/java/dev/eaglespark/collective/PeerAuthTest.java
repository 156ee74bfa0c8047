package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Connections that cannot prove the job secret are refused; the real ring still forms. */
@Timeout(60)
class PeerAuthTest {
    private static final byte[] WRONG =
            "another-jobs-secret-0123456789ab".getBytes(StandardCharsets.UTF_8);

    private static SocketChannel open(InetSocketAddress a) throws IOException {
        SocketChannel ch = SocketChannel.open(a);
        ch.configureBlocking(false);
        return ch;
    }

    /** True when the other side closed the channel (EOF or reset) within the deadline. */
    private static boolean closedByPeer(SocketChannel ch, long timeoutMs) throws IOException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        ByteBuffer b = ByteBuffer.allocate(4096);
        while (System.nanoTime() < deadline) {
            try {
                int r = ch.read(b);
                if (r < 0) {
                    return true;
                }
            } catch (IOException reset) {
                return true;
            }
            b.clear();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
        }
        return false;
    }

    @Test
    void strangersAreRefusedAndTheRingStillForms() throws Exception {
        CollectiveOptions opts = TestRing.loopback().withHandshakeTimeout(Duration.ofSeconds(1));
        List<RingListener> ls = TestRing.listeners(2, opts);
        List<InetSocketAddress> peers = TestRing.addresses(ls);
        InetSocketAddress rank0 = peers.get(0);

        // Queued before the real peer: one that never speaks, one with the wrong secret, one
        // that sends garbage, one replaying as if it were rank 1 but with the wrong secret.
        SocketChannel silent = open(rank0);
        SocketChannel wrongSecret = SocketChannel.open(rank0);
        CompletableFuture<Throwable> wrongResult = CompletableFuture.supplyAsync(() -> {
            try {
                wrongSecret.configureBlocking(false);
                new PeerAuth(WRONG, 2).connect(wrongSecret, 1, 0,
                        System.nanoTime() + TimeUnit.SECONDS.toNanos(20));
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        SocketChannel garbage = open(rank0);
        garbage.write(ByteBuffer.wrap(new byte[200]));

        List<Collective> group = TestRing.connect(ls, peers);
        try {
            Throwable t = wrongResult.get(20, TimeUnit.SECONDS);
            assertTrue(t instanceof IOException, "wrong secret must be refused, got " + t);
            assertTrue(closedByPeer(silent, 5000), "silent connection must be closed");
            assertTrue(closedByPeer(garbage, 5000), "garbage connection must be closed");

            List<float[]> outs = TestRing.runAll(2, r -> {
                float[] a = {r + 1f, 10f};
                group.get(r).allReduceSum(a);
                return a;
            });
            assertArrayEquals(new float[] {3f, 20f}, outs.get(0));
            assertArrayEquals(new float[] {3f, 20f}, outs.get(1));
        } finally {
            TestRing.closeAll(group);
            silent.close();
            wrongSecret.close();
            garbage.close();
        }
    }

    @Test
    void aListenerWithoutTheSecretIsNotTrusted() throws Exception {
        // Rank 0's right neighbour address points at a listener that holds another job's secret:
        // rank 0 must refuse to use it and report the failure once the connect timeout passes.
        CollectiveOptions opts = TestRing.loopback().withConnectTimeout(Duration.ofSeconds(3))
                .withHandshakeTimeout(Duration.ofSeconds(1));
        RingListener mine = RingListener.open(opts);
        RingListener impostor = RingListener.open(opts);
        List<InetSocketAddress> peers = List.of(mine.address(), impostor.address());
        CompletableFuture<Collective> imp = CompletableFuture.supplyAsync(
                () -> RingCollective.connect(impostor, 1, 2, peers, WRONG));
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> RingCollective.connect(mine, 0, 2, peers, TestRing.SECRET));
        assertTrue(e.getMessage().contains("rank 1"), e.getMessage());
        assertThrows(Exception.class, () -> imp.get(20, TimeUnit.SECONDS));
    }

    @Test
    void shortSecretsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new PeerAuth(new byte[8], 2));
    }
}
