package dev.eaglespark.io;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A package tarball from the npm registry, fetched with {@code npm pack} (so the user's npm
 * configuration, proxy and mirror apply), verified by SHA-1 and cached.
 */
public final class NpmPackage {
    private static final Logger LOG = LogManager.getLogger(NpmPackage.class);

    private final String name;
    private final String version;
    private final String sha1;

    public NpmPackage(String name, String version, String sha1) {
        this.name = name;
        this.version = version;
        this.sha1 = sha1;
    }

    /** The verified tarball, downloading it into {@code cacheDir/npm} on first use. */
    public synchronized Path tarball(Path cacheDir) throws IOException {
        Path dir = cacheDir.resolve("npm");
        Files.createDirectories(dir);
        Path target = dir.resolve(fileName());
        if (Files.isRegularFile(target) && sha1.equals(Digests.of(target, "SHA-1"))) {
            return target;
        }
        Path tmp = Files.createTempDirectory(dir, "pack");
        try {
            runNpmPack(tmp);
            Path packed;
            try (var files = Files.list(tmp)) {
                packed = files.filter(p -> p.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IOException("npm pack " + spec() + " produced no .tgz"));
            }
            String got = Digests.of(packed, "SHA-1");
            if (!sha1.equals(got)) {
                throw new IOException("checksum mismatch for " + spec() + ": expected sha1 " + sha1 + ", got " + got);
            }
            Files.move(packed, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } finally {
            FileTrees.delete(tmp);
        }
    }

    /** Opens one entry of the tarball (path as stored, e.g. {@code package/dist/x}); the caller closes it. */
    public InputStream openEntry(Path cacheDir, String entry) throws IOException {
        InputStream in = new TarReader(new GZIPInputStream(
                new BufferedInputStream(Files.newInputStream(tarball(cacheDir)), 1 << 16))).open(entry);
        if (in == null) {
            throw new IOException(spec() + " has no entry " + entry);
        }
        return in;
    }

    public String spec() {
        return name + "@" + version;
    }

    private String fileName() {
        return name.replace("@", "").replace('/', '-') + "-" + version + ".tgz";
    }

    private void runNpmPack(Path dir) throws IOException {
        LOG.info("Fetching {} with npm pack", spec());
        List<String> cmd = List.of("npm", "pack", spec(), "--silent", "--pack-destination", dir.toString());
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run npm (needed once to fetch " + spec() + "): " + e.getMessage(), e);
        }
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException("npm pack " + spec() + " failed: " + new String(out, StandardCharsets.UTF_8).strip());
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + spec(), e);
        }
    }
}
