package dev.eaglespark.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * libtorch installed the way a node gets it: the CPU natives jar's libraries unpacked into one
 * directory (what docker/Dockerfile does with the CUDA jar), and the three variables DJL needs.
 */
public final class TorchNodeInstall {
    private TorchNodeInstall() {}

    /** Unpacks {@code repo}'s target/provided/native jar into {@code dir}; returns jobs/submit.sh's environment for it. */
    public static Map<String, String> create(Path repo, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path jar;
        try (Stream<Path> jars = Files.list(repo.resolve("target/provided/native"))) {
            jar = jars.filter(p -> p.getFileName().toString().startsWith("pytorch-native-cpu")).findFirst().orElseThrow();
        }
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(jar))) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                if (!e.isDirectory() && e.getName().startsWith("pytorch/cpu/linux-x86_64/")) {
                    Files.copy(zip, dir.resolve(Path.of(e.getName()).getFileName()));
                }
            }
        }
        return Map.of("PYTORCH_LIBRARY_PATH", dir.toString(), "PYTORCH_FLAVOR", "cpu", "PYTORCH_VERSION", "2.5.1");
    }
}
