package dev.eaglespark.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A standalone Spark cluster on this machine, as a user runs one: a Master and Workers, each a
 * JVM process of its own started from Spark's jars ({@code target/provided/spark}, which the
 * build assembles from Maven Central), each with its own work directory, on loopback ports that
 * the processes pick themselves (port 0, read back from their logs). Applications go through
 * {@code jobs/submit.sh} and a {@code spark-submit} that does what Spark's launcher script does
 * (Spark's launcher library builds the driver's command). {@link #close} kills every process it
 * started, executors and drivers included.
 */
public final class StandaloneCluster implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(90);
    /**
     * What bin/spark-class does: Spark's launcher library prints a line holding a NUL, then the
     * command NUL-separated; the script appends the launcher's exit code.
     */
    private static final String SPARK_SUBMIT = """
            #!/usr/bin/env bash
            export SPARK_HOME="$(cd "$(dirname "$0")/.." && pwd)"
            cmd=()
            delim=$'\\n'
            while IFS= read -r -d "$delim" arg; do
              if [[ -n "$delim" ]]; then [[ -z "$arg" ]] && delim=''; else cmd+=("$arg"); fi
            done < <(java -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main \\
              org.apache.spark.deploy.SparkSubmit "$@"; printf '%d\\0' $?)
            code=${cmd[-1]}
            unset 'cmd[-1]'
            [[ $code == 0 ]] || exit "$code"
            exec "${cmd[@]}"
            """;

    private final Path dir;
    private final Path sparkHome;
    private final List<Process> processes = new ArrayList<>();
    private final List<Process> workers = new ArrayList<>();
    /** All workers' cores together. */
    private final int cores;
    private String masterUrl;

    private StandaloneCluster(Path dir, Path sparkHome, int cores) {
        this.dir = dir;
        this.sparkHome = sparkHome;
        this.cores = cores;
    }

    /**
     * Starts a Master and {@code workers} Workers of {@code cores} cores and {@code memory} each.
     *
     * @param sparkJars Spark's jars (its distribution's jars/)
     * @param workerEnv more environment of the Workers, which their executors inherit
     */
    public static StandaloneCluster start(Path dir, Path sparkJars, int workers, int cores, String memory,
                                          Map<String, String> workerEnv) throws IOException, InterruptedException {
        Path home = Files.createDirectories(dir.resolve("spark-home/bin"));
        Files.createSymbolicLink(home.getParent().resolve("jars"), sparkJars.toAbsolutePath());
        // Spark's launcher takes $SPARK_HOME/jars as the classpath of a distribution, which has a RELEASE file.
        Files.writeString(home.getParent().resolve("RELEASE"), "Spark's jars from Maven Central\n");
        Path submit = Files.writeString(home.resolve("spark-submit"), SPARK_SUBMIT);
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        StandaloneCluster c = new StandaloneCluster(dir, home.getParent(), workers * cores);
        try {
            Path masterLog = dir.resolve("master.log");
            c.daemon(masterLog, Map.of(), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", "0",
                    "--webui-port", "0");
            c.masterUrl = waitFor(masterLog, Pattern.compile("Starting Spark master at (spark://\\S+)")).group(1);
            List<Path> logs = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                Path work = Files.createDirectories(dir.resolve("worker-" + i));
                Path log = work.resolve("worker.log");
                c.workers.add(c.daemon(log, workerEnv, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port",
                        "0", "--webui-port", "0", "--cores", Integer.toString(cores), "--memory", memory,
                        "--work-dir", work.resolve("work").toString(), c.masterUrl));
                logs.add(log);
            }
            for (Path log : logs) {
                waitFor(log, Pattern.compile("Successfully registered with master"));
            }
            return c;
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public String masterUrl() {
        return masterUrl;
    }

    /**
     * jobs/submit.sh's settings for an application here: small executors (one per worker) and
     * the driver, jobs held until every executor registered, no web UI, the demo model from this
     * JVM's cache (the driver's; executors get it from the driver).
     */
    public Map<String, String> appEnv() {
        Map<String, String> env = new java.util.HashMap<>();
        env.put("EXECUTOR_MEMORY", "1g");
        env.put("DRIVER_MEMORY", "1g");
        env.put("EAGLESPARK_CACHE", dev.eaglespark.io.CacheDir.root().toString());
        env.put("SPARK_SUBMIT_OPTS_EXTRA", "--conf spark.cores.max=" + cores
                + " --conf spark.scheduler.minRegisteredResourcesRatio=1 --conf spark.ui.enabled=false");
        return env;
    }

    /** The environment every process of the cluster runs with: loopback only, Spark's jars as its home. */
    private void environment(Map<String, String> env) {
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_SCALA_VERSION", "2.12"); // what Spark's load-spark-env.sh sets
        env.put("PATH", sparkHome.resolve("bin") + ":" + env.get("PATH"));
    }

    private Process daemon(Path log, Map<String, String> env, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx256m", "-cp", sparkHome.resolve("jars") + "/*",
                mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        environment(pb.environment());
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** A finished application: its exit code and everything the driver printed. */
    public record Run(int exit, String output) {}

    /**
     * Starts {@code jobs/submit.sh} of the checkout {@code repo} against this cluster in {@code cwd};
     * {@code env} adds to (or, with null values, removes from) the environment.
     */
    public Process submit(Path repo, Path cwd, Path log, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("bash", repo.resolve("jobs/submit.sh").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Map<String, String> e = pb.environment();
        environment(e);
        e.put("SPARK_MASTER", masterUrl);
        env.forEach((k, v) -> {
            if (v == null) {
                e.remove(k);
            } else {
                e.put(k, v);
            }
        });
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** {@link #submit} and wait for the application to end. */
    public Run run(Path repo, Path cwd, Path log, Map<String, String> env, Duration limit, String... args)
            throws IOException, InterruptedException {
        Process p = submit(repo, cwd, log, env, args);
        if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            kill(p.toHandle());
            throw new AssertionError("application " + String.join(" ", args) + " ran past " + limit + ":\n"
                    + Files.readString(log));
        }
        return new Run(p.exitValue(), Files.readString(log));
    }

    /** The executor JVMs the Workers run now. */
    public List<ProcessHandle> executors() {
        return workers.stream().flatMap(w -> w.toHandle().descendants())
                .filter(h -> h.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend")).toList();
    }

    /** Every executor log (stdout and stderr) the Workers wrote, concatenated. */
    public String executorLogs() throws IOException {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(p -> p.getParent() != null && p.getParent().getParent() != null
                    && p.getParent().getParent().getFileName().toString().startsWith("app-")).sorted().toList()) {
                if (Files.isRegularFile(f) && (f.endsWith("stderr") || f.endsWith("stdout"))) {
                    sb.append("==> ").append(f).append('\n').append(Files.readString(f));
                }
            }
        }
        return sb.toString();
    }

    /** The directories of this cluster's workers (each holds a work/ directory per application). */
    public List<Path> workerDirs() {
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            out.add(dir.resolve("worker-" + i));
        }
        return out;
    }

    /** SIGKILL to a process and everything it started. */
    public static void kill(ProcessHandle p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.onExit().orTimeout(30, TimeUnit.SECONDS).join();
    }

    @Override
    public void close() {
        // Drivers first (they would otherwise ask for new executors), then workers with their executors, then the master.
        for (int i = processes.size() - 1; i >= 0; i--) {
            ProcessHandle p = processes.get(i).toHandle();
            try {
                kill(p);
            } catch (RuntimeException e) {
                System.err.println("could not stop process " + p.pid() + ": " + e);
            }
        }
    }

    private static Matcher waitFor(Path log, Pattern pattern) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                Matcher m = pattern.matcher(Files.readString(log));
                if (m.find()) {
                    return m;
                }
            }
            Thread.sleep(200);
        }
        throw new IOException("no '" + pattern + "' in " + log + " within " + START + ":\n"
                + (Files.exists(log) ? Files.readString(log) : "(no log)"));
    }
}
