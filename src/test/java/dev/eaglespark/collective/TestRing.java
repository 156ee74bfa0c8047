package dev.eaglespark.collective;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Builds rings of n ranks on 127.0.0.1 inside one JVM, one thread per rank. */
final class TestRing {
    static final byte[] SECRET = "test-job-secret-0123456789abcdef".getBytes(StandardCharsets.UTF_8);

    private TestRing() {}

    static CollectiveOptions loopback() {
        return CollectiveOptions.defaults().withBindHost("127.0.0.1")
                .withConnectTimeout(java.time.Duration.ofSeconds(20));
    }

    static List<RingListener> listeners(int n, CollectiveOptions options) {
        List<RingListener> ls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ls.add(RingListener.open(options));
        }
        return ls;
    }

    static List<InetSocketAddress> addresses(List<RingListener> ls) {
        List<InetSocketAddress> a = new ArrayList<>();
        for (RingListener l : ls) {
            a.add(l.address());
        }
        return a;
    }

    static List<Collective> connect(int n, CollectiveOptions options) throws Exception {
        List<RingListener> ls = listeners(n, options);
        return connect(ls, addresses(ls));
    }

    static List<Collective> connect(List<RingListener> ls, List<InetSocketAddress> peers)
            throws Exception {
        int n = ls.size();
        return runAll(n, r -> RingCollective.connect(ls.get(r), r, n, peers, SECRET));
    }

    interface RankTask<T> {
        T run(int rank) throws Exception;
    }

    /** Runs task(rank) for every rank concurrently; rethrows the first failure. */
    static <T> List<T> runAll(int n, RankTask<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit((Callable<T>) () -> task.run(rank)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static void closeAll(List<Collective> cs) {
        for (Collective c : cs) {
            c.close();
        }
    }
}
