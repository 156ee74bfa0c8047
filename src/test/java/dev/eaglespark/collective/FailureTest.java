package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A dead or silent peer ends the operation with a clear exception instead of a hang. */
@Timeout(60)
class FailureTest {

    /** Runs all-reduces in a loop until it throws; returns the exception and when it came. */
    private static Future<Object[]> loopUntilFailure(ExecutorService pool, Collective c,
            float[] data) {
        return pool.submit(() -> {
            try {
                for (int i = 0; i < 100_000; i++) {
                    c.allReduceSum(data);
                }
                return new Object[] {null, System.nanoTime()};
            } catch (RuntimeException e) {
                return new Object[] {e, System.nanoTime()};
            }
        });
    }

    @Test
    void deadPeerMidOperationFailsTheOthersPromptly() throws Exception {
        // Default 10 min read timeout: the prompt failure must come from the closed sockets.
        List<Collective> group = TestRing.connect(3,
                TestRing.loopback().withBucketBytes(64 * 1024));
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            int len = 2_000_000;
            Future<Object[]> r0 = loopUntilFailure(pool, group.get(0), new float[len]);
            Future<Object[]> r1 = loopUntilFailure(pool, group.get(1), new float[len]);
            Future<Object[]> r2 = loopUntilFailure(pool, group.get(2), new float[len]);
            Thread.sleep(700); // well inside the loop of large all-reduces
            long killedAt = System.nanoTime();
            group.get(2).close(); // rank 2 dies: its sockets close under the running operation
            for (Future<Object[]> f : List.of(r0, r1)) {
                Object[] res = f.get(10, TimeUnit.SECONDS);
                Throwable e = (Throwable) res[0];
                double after = ((long) res[1] - killedAt) / 1e9;
                assertTrue(e instanceof CollectiveException, "expected failure, got " + e);
                assertTrue(after < 5, "failed only after " + after + " s");
                String msg = e.getMessage();
                // rank 1 sees its right peer (2) gone, rank 0 sees its left peer (2) gone, or the
                // failure propagated around the ring from rank 1: either way a peer is named.
                assertTrue(msg.matches("(?s)rank \\d: .*peer rank \\d \\(127\\.0\\.0\\.1:\\d+\\).*"),
                        msg);
                System.out.println("failed after " + after + " s: " + msg);
            }
            r2.get(10, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
            TestRing.closeAll(group);
        }
    }

    @Test
    void silentPeerHitsTheReadTimeout() throws Exception {
        List<Collective> group = TestRing.connect(2,
                TestRing.loopback().withIoTimeout(Duration.ofSeconds(1)));
        try {
            long t0 = System.nanoTime();
            CompletableFuture<Throwable> f = CompletableFuture.supplyAsync(() -> {
                try {
                    group.get(0).allReduceSum(new float[10]); // rank 1 never joins
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Throwable e = f.get(20, TimeUnit.SECONDS);
            double took = (System.nanoTime() - t0) / 1e9;
            assertTrue(e instanceof CollectiveException, "got " + e);
            assertTrue(e.getMessage().contains("timed out")
                    && e.getMessage().contains("left peer rank 1"), e.getMessage());
            assertTrue(took >= 0.9 && took < 5, "took " + took + " s");
        } finally {
            TestRing.closeAll(group);
        }
    }

    @Test
    void missingPeerFailsConnectAfterTheTimeout() throws Exception {
        CollectiveOptions opts = TestRing.loopback().withConnectTimeout(Duration.ofSeconds(2));
        List<RingListener> ls = TestRing.listeners(2, opts);
        List<java.net.InetSocketAddress> peers = TestRing.addresses(ls);
        ls.get(1).close(); // rank 1 never shows up
        long t0 = System.nanoTime();
        try {
            RingCollective.connect(ls.get(0), 0, 2, peers, TestRing.SECRET);
            throw new AssertionError("connect must fail");
        } catch (CollectiveException e) {
            double took = (System.nanoTime() - t0) / 1e9;
            assertTrue(took < 6, "took " + took);
            assertTrue(e.getMessage().contains("peer rank 1"), e.getMessage());
        }
    }

    @Test
    void peersThatFinishAndCloseAtOnceDoNotBreakTheOthers() throws Exception {
        // A rank that has sent its last bytes may close before its neighbours have read them.
        for (int round = 0; round < 20; round++) {
            int n = 2 + round % 2;
            List<Collective> group = TestRing.connect(n, TestRing.loopback());
            TestRing.runAll(n, r -> {
                float[] a = new float[1000];
                group.get(r).allReduceSum(a);
                group.get(r).barrier();
                group.get(r).close();
                return null;
            });
        }
    }
}
