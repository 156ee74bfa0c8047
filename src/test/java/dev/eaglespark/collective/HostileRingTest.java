package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Strangers on the ring's listeners, before authentication. Listeners authenticate all
 * connections at once, so the ring forms with 15 idle strangers and 15 garbage senders on every
 * listener within a connect timeout (20 s) far shorter than the 300 s that handling them one at
 * a time with the 10 s handshake limit would need. Loopback only; about 2 s.
 */
class HostileRingTest {
    private static final int STRANGERS = 15;

    /** Connections that never speak, and ones that send garbage, on each listener. */
    private static List<SocketChannel> strangers(List<InetSocketAddress> listeners, long seed) throws IOException {
        Random random = new Random(seed);
        List<SocketChannel> out = new ArrayList<>();
        for (InetSocketAddress a : listeners) {
            for (int i = 0; i < STRANGERS; i++) {
                out.add(SocketChannel.open(a));
                SocketChannel garbage = SocketChannel.open(a);
                byte[] bytes = new byte[1 + random.nextInt(200)];
                random.nextBytes(bytes);
                garbage.write(ByteBuffer.wrap(bytes));
                out.add(garbage);
            }
        }
        return out;
    }

    private static void allReduceWorks(List<Collective> group) throws Exception {
        int n = group.size();
        List<float[]> outs = TestRing.runAll(n, r -> {
            float[] a = {r + 1f, 10f};
            group.get(r).allReduceSum(a);
            return a;
        });
        for (float[] o : outs) {
            assertArrayEquals(new float[] {n * (n + 1) / 2f, 10f * n}, o);
        }
    }

    @Test
    void theRingFormsWithIdleAndGarbageStrangersOnEveryListener() throws Exception {
        CollectiveOptions opts = TestRing.loopback(); // handshake 10 s, connect 20 s
        List<RingListener> ls = TestRing.listeners(3, opts);
        List<InetSocketAddress> peers = TestRing.addresses(ls);
        List<SocketChannel> strangers = strangers(peers, 19);
        List<Collective> group = TestRing.connect(ls, peers);
        try {
            allReduceWorks(group);
            for (SocketChannel s : strangers) {
                assertTrue(closedByPeer(s), "every stranger is disconnected once the ring formed");
            }
        } finally {
            TestRing.closeAll(group);
            for (SocketChannel s : strangers) {
                s.close();
            }
        }
    }

    @Test
    void pastTheBoundTheOldestUnauthenticatedConnectionIsDropped() throws Exception {
        CollectiveOptions opts = TestRing.loopback().withMaxPendingHandshakes(4);
        List<RingListener> ls = TestRing.listeners(2, opts);
        List<InetSocketAddress> peers = TestRing.addresses(ls);
        List<SocketChannel> idle = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            idle.add(SocketChannel.open(peers.get(0)));
        }
        // Rank 0 keeps at most 4 of them: the first 8 are dropped as soon as it accepts them.
        Collective[] rank0 = new Collective[1];
        Thread accepting = new Thread(() -> rank0[0] = RingCollective.connect(ls.get(0), 0, 2, peers, TestRing.SECRET));
        accepting.start();
        try {
            for (int i = 0; i < 8; i++) {
                assertTrue(closedByPeer(idle.get(i)), "stranger " + i + " dropped while the ring waits");
            }
            Collective rank1 = RingCollective.connect(ls.get(1), 1, 2, peers, TestRing.SECRET);
            accepting.join(20_000);
            allReduceWorks(List.of(rank0[0], rank1));
            rank1.close();
        } finally {
            accepting.join(20_000);
            if (rank0[0] != null) {
                rank0[0].close();
            }
            for (SocketChannel s : idle) {
                s.close();
            }
        }
        assertEquals(4, opts.maxPendingHandshakes());
    }

    /** Whether the other side closed the connection (read -1, or reset, within 20 s). */
    private static boolean closedByPeer(SocketChannel ch) throws IOException {
        ch.configureBlocking(true);
        ch.socket().setSoTimeout(20_000);
        try {
            while (true) {
                int r = ch.socket().getInputStream().read(new byte[256]);
                if (r < 0) {
                    return true;
                }
            }
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
