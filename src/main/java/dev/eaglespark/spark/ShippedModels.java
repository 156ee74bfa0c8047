package dev.eaglespark.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkFiles;

/**
 * A model directory that only the driver has, shipped with the application: the demo model
 * (stories15M), which the driver fetches and converts into its own cache. Executors on other
 * machines cannot see that cache, and making each of them fetch it would need npm and the
 * internet on every node (clusters run with {@code ai.djl.offline=true}); the driver already
 * holds the checked files, 58 MB. So it zips them once per application and adds the archive to
 * the SparkContext: Spark copies it to every executor and unpacks it there before its tasks
 * run (and on the driver too). The stages then name the model {@code shipped:/NAME}, which
 * {@link #resolve} turns into the unpacked directory wherever it runs. In local mode the driver's
 * directory is used as it is.
 */
public final class ShippedModels {
    /** A URI of its own scheme, so that Hadoop's Path parses it (for the model's name) and never opens it. */
    static final String PREFIX = "shipped:/";

    private ShippedModels() {}

    /** The name the stages use for {@code dir}, a directory on the driver, shipping it when executors are elsewhere. */
    public static String ship(SparkContext sc, Path dir) throws IOException {
        if (sc.isLocal()) {
            return "file:" + dir.toAbsolutePath();
        }
        String name = dir.getFileName().toString();
        Path zip = Files.createTempDirectory("eaglespark-model").resolve(name + ".zip");
        zip.toFile().deleteOnExit();
        zip.getParent().toFile().deleteOnExit();
        try (OutputStream out = Files.newOutputStream(zip); ZipOutputStream z = new ZipOutputStream(out)) {
            z.setLevel(Deflater.NO_COMPRESSION); // fp32 weights barely compress; this keeps it fast
            List<Path> files;
            try (var list = Files.list(dir)) {
                files = list.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path f : files) {
                z.putNextEntry(new ZipEntry(f.getFileName().toString()));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
        sc.addArchive(zip.toUri() + "#" + name);
        return PREFIX + name;
    }

    /**
     * The places a stage reads, which its output must not overlap: its inputs and its model (a
     * shipped model as the driver's unpacked copy: Hadoop has no file system for its scheme).
     */
    static List<String> reads(List<String> inputs, String model) {
        List<String> reads = new java.util.ArrayList<>(inputs);
        reads.add(resolve(model));
        return reads;
    }

    /** A model location as this JVM reads it: a shipped model's unpacked directory, anything else as it is. */
    public static String resolve(String model) {
        return model.startsWith(PREFIX) ? "file:" + SparkFiles.get(model.substring(PREFIX.length())) : model;
    }
}
