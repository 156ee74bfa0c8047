package dev.eaglespark.testutil;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

/** File operations on any Hadoop URI (local paths, hdfs://, s3a://), for setting up and checking tests. */
public final class HadoopFiles {
    private HadoopFiles() {}

    public static byte[] read(String uri, Configuration conf) throws IOException {
        Path p = new Path(uri);
        try (InputStream in = p.getFileSystem(conf).open(p)) {
            return in.readAllBytes();
        }
    }

    public static void write(String uri, byte[] bytes, Configuration conf) throws IOException {
        Path p = new Path(uri);
        try (OutputStream os = p.getFileSystem(conf).create(p, true)) {
            os.write(bytes);
        }
    }

    /** Copies a file or a directory tree. */
    public static void copy(String from, String to, Configuration conf) throws IOException {
        Path src = new Path(from);
        Path dst = new Path(to);
        if (!FileUtil.copy(src.getFileSystem(conf), src, dst.getFileSystem(conf), dst, false, conf)) {
            throw new IOException("could not copy " + from + " to " + to);
        }
    }

    /** A local copy of one file, for readers that need a local path (the caller deletes it). */
    public static java.nio.file.Path download(String uri, Configuration conf) throws IOException {
        java.nio.file.Path local = Files.createTempFile("eaglespark-test", ".bin");
        Path p = new Path(uri);
        p.getFileSystem(conf).copyToLocalFile(false, p, new Path(local.toUri()), true);
        return local;
    }

    /** Names in a directory. */
    public static java.util.List<String> list(String uri, Configuration conf) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = p.getFileSystem(conf);
        return java.util.Arrays.stream(fs.listStatus(p)).map(s -> s.getPath().getName()).sorted().toList();
    }
}
