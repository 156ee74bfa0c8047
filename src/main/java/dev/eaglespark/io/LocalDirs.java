package dev.eaglespark.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HexFormat;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * A local copy of a directory named by any Hadoop URI: local paths are used in place; an
 * {@code hdfs://} or {@code s3a://} directory (a target model, say) is copied once into the
 * cache and reused by every later task on the machine.
 */
public final class LocalDirs {
    private LocalDirs() {}

    public static synchronized Path localize(String uri, Configuration conf) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(uri);
        String scheme = p.toUri().getScheme();
        if (scheme == null || scheme.equals("file")) {
            return Paths.get(p.toUri().getPath());
        }
        String key = HexFormat.of().formatHex(Digests.newDigest("SHA-256").digest(uri.getBytes(StandardCharsets.UTF_8)))
                .substring(0, 16);
        Path local = CacheDir.root().resolve("remote").resolve(key);
        if (Files.isRegularFile(local.resolve(".complete"))) {
            return local;
        }
        FileTrees.delete(local);
        Files.createDirectories(local.getParent());
        FileSystem fs = p.getFileSystem(conf);
        p = new org.apache.hadoop.fs.Path(OutputPublisher.current(uri, conf)); // an export on an object store
        Path tmp = Files.createTempDirectory(local.getParent(), key);
        for (var status : fs.listStatus(p)) {
            if (status.isFile()) {
                fs.copyToLocalFile(false, status.getPath(),
                        new org.apache.hadoop.fs.Path(tmp.resolve(status.getPath().getName()).toString()), true);
            }
        }
        Files.writeString(tmp.resolve(".complete"), uri + "\n");
        Files.move(tmp, local);
        return local;
    }
}
