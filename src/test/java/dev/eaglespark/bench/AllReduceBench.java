package dev.eaglespark.bench;

import dev.eaglespark.collective.Collective;
import dev.eaglespark.collective.CollectiveOptions;
import dev.eaglespark.collective.RingCollective;
import dev.eaglespark.collective.RingListener;
import dev.eaglespark.collective.WireType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * All-reduce throughput on loopback: the eaglespark ring, XGBoost4J's Communicator and a plain
 * socket copy, for the same sizes. Every rank is its own JVM (as Spark tasks would be);
 * the parent only spawns them, does the rendezvous and prints the table. Run through
 * {@code jobs/bench-allreduce.sh}; arguments: {@code [sizesMB=1,10,100,1000] [ranks=2,3]
 * [impls=raw,ring,ring-fp16,xgb]}.
 *
 * <p>Time = median over repetitions of rank 0's wall time for one all-reduce, each started after
 * a barrier. algbw = bytes / time; busbw = 2(n-1)/n * bytes / time (what each rank pushes
 * through its link, comparable with the raw socket figure).
 */
public final class AllReduceBench {
    private static final PrintStream OUT = System.out;

    private AllReduceBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("ring-worker")) {
            ringWorker(args);
            return;
        }
        if (args.length > 0 && args[0].equals("xgb-worker")) {
            xgbWorker(args);
            return;
        }
        long[] sizes = Arrays.stream((args.length > 0 ? args[0] : "1,10,100,1000").split(","))
                .mapToLong(s -> Long.parseLong(s.trim()) << 20).toArray();
        int[] ranks = Arrays.stream((args.length > 1 ? args[1] : "2,3").split(","))
                .mapToInt(s -> Integer.parseInt(s.trim())).toArray();
        List<String> impls = Arrays.asList(
                (args.length > 2 ? args[2] : "raw,ring,ring-fp16,xgb").split(","));

        OUT.printf(Locale.ROOT, "machine: %d cores, %s, java %s; loopback 127.0.0.1%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("java.version"));
        OUT.println("| impl | ranks | size MB | reps | median s | algbw GB/s | busbw GB/s |");
        OUT.println("| --- | --- | --- | --- | --- | --- | --- |");
        if (impls.contains("raw")) {
            for (long size : sizes) {
                double[] t = rawCopy(size, reps(size));
                row("raw socket copy", 1, size, t.length, median(t), 1.0);
            }
        }
        for (int n : ranks) {
            for (String impl : impls) {
                if (impl.equals("raw")) {
                    continue;
                }
                Map<Long, Double> res;
                try {
                    res = impl.startsWith("ring") ? runRing(n, sizes, impl.endsWith("fp16"))
                            : runXgb(n, sizes);
                } catch (Exception e) {
                    OUT.println("| " + impl + " | " + n + " | failed: " + e + " | | | | |");
                    continue;
                }
                for (long size : sizes) {
                    Double t = res.get(size);
                    if (t != null) {
                        row(implName(impl), n, size, reps(size), t, 2.0 * (n - 1) / n);
                    }
                }
            }
        }
    }

    private static String implName(String impl) {
        switch (impl) {
            case "ring":
                return "eaglespark ring fp32";
            case "ring-fp16":
                return "eaglespark ring fp16 wire";
            case "xgb":
                return "xgboost4j 2.1.4 Communicator";
            default:
                return impl;
        }
    }

    static int reps(long size) {
        long mb = size >> 20;
        return mb <= 1 ? 20 : mb <= 10 ? 10 : mb <= 100 ? 5 : 3;
    }

    private static void row(String impl, int n, long size, int reps, double sec, double busF) {
        OUT.printf(Locale.ROOT, "| %s | %d | %d | %d | %.4f | %.2f | %.2f |%n", impl, n,
                size >> 20, reps, sec, size / sec / 1e9, busF * size / sec / 1e9);
        OUT.flush();
    }

    static double median(double[] t) {
        double[] s = t.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    // ------------------------------------------------------------------ raw socket copy

    /**
     * Seconds per copy of size bytes from one socket to another on loopback (4 MiB writes on one
     * thread, reads on another, one warm-up), for each of {@code reps} repetitions.
     */
    static double[] rawCopy(long size, int reps) throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress());
                    SocketChannel in = server.accept()) {
                ByteBuffer src = ByteBuffer.allocateDirect(4 << 20);
                ByteBuffer dst = ByteBuffer.allocateDirect(4 << 20);
                java.util.concurrent.SynchronousQueue<Long> go =
                        new java.util.concurrent.SynchronousQueue<>();
                Thread writer = new Thread(() -> {
                    try {
                        for (int i = -1; i < reps; i++) {
                            long left = go.take();
                            while (left > 0) {
                                src.clear().limit((int) Math.min(src.capacity(), left));
                                while (src.hasRemaining()) {
                                    left -= out.write(src);
                                }
                            }
                        }
                    } catch (IOException | InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                });
                writer.start();
                double[] t = new double[reps];
                for (int i = -1; i < reps; i++) {
                    long t0 = System.nanoTime();
                    go.put(size);
                    long got = 0;
                    while (got < size) {
                        dst.clear();
                        int r = in.read(dst);
                        if (r < 0) {
                            throw new IOException("eof");
                        }
                        got += r;
                    }
                    if (i >= 0) {
                        t[i] = (System.nanoTime() - t0) / 1e9;
                    }
                }
                writer.join();
                return t;
            }
        }
    }

    // ------------------------------------------------------------------ worker processes

    private static Process spawn(List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + System.getProperty("bench.workerHeap", "3g"));
        cmd.add("-Dbench.bucketMB=" + System.getProperty("bench.bucketMB", "4"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(AllReduceBench.class.getName());
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static String sizesArg(long[] sizes) {
        StringBuilder sb = new StringBuilder();
        for (long s : sizes) {
            sb.append(sb.length() == 0 ? "" : ",").append(s);
        }
        return sb.toString();
    }

    /** Reads "RESULT bytes seconds" lines from rank 0 until "DONE"; waits for all workers. */
    private static Map<Long, Double> collect(List<Process> ps, List<BufferedReader> outs)
            throws Exception {
        Map<Long, Double> res = new HashMap<>();
        String line;
        while ((line = outs.get(0).readLine()) != null && !line.equals("DONE")) {
            if (line.startsWith("RESULT ")) {
                String[] f = line.split(" ");
                res.put(Long.parseLong(f[1]), Double.parseDouble(f[2]));
            }
        }
        for (Process p : ps) {
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("worker failed (exit "
                        + (p.isAlive() ? "timeout" : p.exitValue()) + ")");
            }
        }
        return res;
    }

    private static Map<Long, Double> runRing(int n, long[] sizes, boolean fp16) throws Exception {
        List<Process> ps = new ArrayList<>();
        List<BufferedReader> outs = new ArrayList<>();
        List<String> addrs = new ArrayList<>();
        try {
            for (int r = 0; r < n; r++) {
                Process p = spawn(List.of("ring-worker", String.valueOf(r), String.valueOf(n),
                        sizesArg(sizes), fp16 ? "FP16" : "FP32"));
                ps.add(p);
                BufferedReader br = new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                outs.add(br);
            }
            for (BufferedReader br : outs) { // rendezvous: collect every listener address
                String line;
                while ((line = br.readLine()) != null && !line.startsWith("ADDR ")) {
                    // skip log lines
                }
                if (line == null) {
                    throw new IllegalStateException("worker exited before publishing its address");
                }
                addrs.add(line.substring(5).trim());
            }
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            String msg = String.join(",", addrs) + " " + HexFormat.of().formatHex(secret) + "\n";
            for (Process p : ps) {
                p.getOutputStream().write(msg.getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().flush();
            }
            return collect(ps, outs);
        } finally {
            ps.forEach(Process::destroy);
        }
    }

    private static void ringWorker(String[] args) throws Exception {
        int rank = Integer.parseInt(args[1]);
        int n = Integer.parseInt(args[2]);
        long[] sizes = Arrays.stream(args[3].split(",")).mapToLong(Long::parseLong).toArray();
        CollectiveOptions opts = CollectiveOptions.defaults().withBindHost("127.0.0.1")
                .withWireType(WireType.valueOf(args[4]))
                .withBucketBytes(Integer.getInteger("bench.bucketMB", 4) << 20);
        RingListener l = RingListener.open(opts);
        OUT.println("ADDR " + l.address().getHostString() + ":" + l.address().getPort());
        OUT.flush();
        String[] line = new BufferedReader(new InputStreamReader(System.in,
                StandardCharsets.UTF_8)).readLine().trim().split(" ");
        List<InetSocketAddress> peers = new ArrayList<>();
        for (String a : line[0].split(",")) {
            int c = a.lastIndexOf(':');
            peers.add(new InetSocketAddress(a.substring(0, c), Integer.parseInt(a.substring(c + 1))));
        }
        try (Collective c = RingCollective.connect(l, rank, n, peers,
                HexFormat.of().parseHex(line[1]))) {
            for (long size : sizes) {
                float[] a = new float[(int) (size / 4)];
                int reps = reps(size);
                double[] t = new double[reps];
                for (int i = -1; i < reps; i++) { // i = -1: warm-up
                    Arrays.fill(a, 0.5f + rank);
                    c.barrier();
                    long t0 = System.nanoTime();
                    c.allReduceSum(a);
                    if (i >= 0) {
                        t[i] = (System.nanoTime() - t0) / 1e9;
                    }
                }
                if (rank == 0) {
                    OUT.println("RESULT " + size + " " + median(t));
                    OUT.flush();
                }
            }
            c.barrier();
        }
        OUT.println("DONE");
        OUT.flush();
    }

    private static Map<Long, Double> runXgb(int n, long[] sizes) throws Exception {
        ml.dmlc.xgboost4j.java.RabitTracker tracker =
                new ml.dmlc.xgboost4j.java.RabitTracker(n, "127.0.0.1");
        tracker.start();
        List<Process> ps = new ArrayList<>();
        try {
            Map<String, Object> wargs = tracker.getWorkerArgs();
            List<BufferedReader> outs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                List<String> a = new ArrayList<>(List.of("xgb-worker", String.valueOf(r),
                        String.valueOf(n), sizesArg(sizes)));
                for (Map.Entry<String, Object> e : wargs.entrySet()) {
                    a.add(e.getKey() + "=" + e.getValue());
                }
                a.add("dmlc_task_id=" + r);
                Process p = spawn(a);
                ps.add(p);
                outs.add(new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
            }
            Map<Long, Double> res = collect(ps, outs);
            tracker.waitFor(60_000);
            return res;
        } finally {
            ps.forEach(Process::destroy);
            tracker.stop();
        }
    }

    private static void xgbWorker(String[] args) throws Exception {
        int n = Integer.parseInt(args[2]);
        long[] sizes = Arrays.stream(args[3].split(",")).mapToLong(Long::parseLong).toArray();
        Map<String, Object> env = new HashMap<>();
        for (int i = 4; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            boolean number = kv[1].matches("-?\\d+") && !kv[0].equals("dmlc_task_id");
            env.put(kv[0], number ? (Object) Integer.valueOf(kv[1]) : kv[1]);
        }
        ml.dmlc.xgboost4j.java.Communicator.init(env);
        int rank = ml.dmlc.xgboost4j.java.Communicator.getRank();
        if (ml.dmlc.xgboost4j.java.Communicator.getWorldSize() != n) {
            throw new IllegalStateException("world size mismatch");
        }
        float[] one = new float[1];
        for (long size : sizes) {
            float[] a = new float[(int) (size / 4)];
            int reps = reps(size);
            double[] t = new double[reps];
            for (int i = -1; i < reps; i++) {
                Arrays.fill(a, 0.5f + rank);
                ml.dmlc.xgboost4j.java.Communicator.allReduce(one,
                        ml.dmlc.xgboost4j.java.Communicator.OpType.SUM); // barrier
                long t0 = System.nanoTime();
                float[] r = ml.dmlc.xgboost4j.java.Communicator.allReduce(a,
                        ml.dmlc.xgboost4j.java.Communicator.OpType.SUM);
                if (i >= 0) {
                    t[i] = (System.nanoTime() - t0) / 1e9;
                }
                if (r[0] != n * n / 2f) {
                    throw new IllegalStateException("wrong sum " + r[0]);
                }
            }
            if (rank == 0) {
                OUT.println("RESULT " + size + " " + median(t));
                OUT.flush();
            }
        }
        ml.dmlc.xgboost4j.java.Communicator.shutdown();
        OUT.println("DONE");
        OUT.flush();
    }
}
