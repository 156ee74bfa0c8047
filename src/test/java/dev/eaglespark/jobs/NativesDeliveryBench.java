package dev.eaglespark.jobs;

import dev.eaglespark.testutil.StandaloneCluster;
import dev.eaglespark.testutil.TorchNodeInstall;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What each way of getting libtorch to the executors costs, on a standalone cluster of this
 * machine ({@link StandaloneCluster}, two one-core workers): the same small {@code features}
 * application (stories15M, two conversations) with the natives jar shipped by {@code --jars}
 * into an empty DJL cache (DJL unpacks it first), again into that now filled cache, and with
 * libtorch as a node install ({@code PYTORCH_*}). Prints each application's wall time, each
 * executor's copy of the natives jar and its model load (which includes DJL's start). A
 * program, not a test; after {@code mvn -DskipTests package}:
 * <pre>
 * mvn -q dependency:build-classpath -Dmdep.outputFile=cp.txt
 * java -Deaglespark.cache=$HOME/.cache/eaglespark -cp target/test-classes:target/classes:$(cat cp.txt) \
 *   dev.eaglespark.jobs.NativesDeliveryBench /tmp/natives-bench
 * </pre>
 */
public final class NativesDeliveryBench {
    private static final Path REPO = Path.of("").toAbsolutePath();
    private static final Pattern TIME = Pattern.compile("^\\d\\d/\\d\\d/\\d\\d (\\d\\d:\\d\\d:\\d\\d)");

    private NativesDeliveryBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(Path.of(args.length > 0 ? args[0] : "/tmp/natives-bench"));
        Path cwd = Files.createDirectories(dir.resolve("work"));
        Path in = cwd.resolve("in.jsonl");
        Files.write(in, Files.readAllLines(REPO.resolve("src/test/resources/data/sharegpt_sample.jsonl")).subList(0, 2));
        long t0 = System.nanoTime();
        Map<String, String> nodeInstall = TorchNodeInstall.create(REPO, dir.resolve("libtorch"));
        System.out.printf("node install: the natives jar unpacked in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        try (StandaloneCluster c = StandaloneCluster.start(dir.resolve("cluster"), REPO.resolve("target/provided/spark"),
                2, 1, "2g", Map.of())) {
            // mode, DJL cache of the executors
            String[][] modes = {{"jar, empty DJL cache", "djl-jar"}, {"jar, filled DJL cache", "djl-jar"},
                {"node install", "djl-node"}};
            for (int i = 0; i < modes.length; i++) {
                Map<String, String> env = c.appEnv();
                env.merge("SPARK_SUBMIT_OPTS_EXTRA", " --conf spark.executorEnv.DJL_CACHE_DIR=" + dir.resolve(modes[i][1]),
                        String::concat);
                if (modes[i][0].equals("node install")) {
                    env.putAll(nodeInstall);
                }
                long start = System.nanoTime();
                StandaloneCluster.Run r = c.run(REPO, cwd, dir.resolve("app-" + i + ".log"), env, Duration.ofMinutes(15),
                        "features", "--model", "stories15M", "--input", in.toString(), "--output", "out-" + i);
                System.out.printf("%s: exit %d, application %.1f s%n", modes[i][0], r.exit(),
                        (System.nanoTime() - start) / 1e9);
            }
            report(c.executorLogs());
        }
    }

    /** Per executor: the natives jar's copy (from Spark's log lines, whole seconds) and the model load. */
    private static void report(String logs) {
        String fetched = null;
        for (String line : logs.split("\n")) {
            Matcher t = TIME.matcher(line);
            if (line.startsWith("==> ")) {
                System.out.println(line.substring(4));
            } else if (t.find() && line.contains("Fetching spark://") && line.contains("pytorch-native")
                    && line.contains("Executor:")) {
                fetched = t.group(1);
            } else if (t.find(0) && fetched != null && line.contains("Adding file") && line.contains("pytorch-native")) {
                System.out.printf("  natives jar copied in %d s%n", Duration.between(LocalTime.parse(fetched),
                        LocalTime.parse(t.group(1))).toSeconds());
                fetched = null;
            } else if (line.contains("TargetModel - Loaded")) {
                System.out.println("  " + line.replaceFirst(".*(in \\d+ ms)", "model loaded (DJL started) $1"));
            }
        }
    }

}
