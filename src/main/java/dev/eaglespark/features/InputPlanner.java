package dev.eaglespark.features;

import dev.eaglespark.data.Compression;
import dev.eaglespark.io.OutputPublisher;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Cuts conversation files into splits of whole lines with near-equal line counts. Every file
 * is scanned once (decompressed) to find line starts, so splits of compressed files work too
 * and each split knows its absolute line numbers (record ids made from file and line stay
 * the same however the input is split).
 */
public final class InputPlanner {
    private static final Logger LOG = LogManager.getLogger(InputPlanner.class);

    private InputPlanner() {}

    /**
     * Expands globs (any Hadoop file system) to the matching files, sorted; fails on none. In a
     * directory, files named {@code _*} or {@code .*} (markers, checksums, hidden files) and
     * subdirectories (not read recursively) are skipped, with a log line that counts them.
     */
    public static List<Path> files(List<String> globs, Configuration conf) throws IOException {
        Listing l = list(globs, conf);
        if (!l.skipped().isEmpty()) {
            boolean dirs = l.skipped().stream().anyMatch(s -> s.endsWith("/"));
            String message = "input: skipped " + l.skipped().size() + " entries of input directories "
                    + "(names starting with _ or ., and subdirectories, which are not read): "
                    + String.join(", ", l.skipped().subList(0, Math.min(10, l.skipped().size())))
                    + (l.skipped().size() > 10 ? ", ..." : "");
            if (dirs) {
                LOG.warn(message);
            } else {
                LOG.info(message);
            }
        }
        return l.files();
    }

    /** The files to read, and the directory entries skipped (subdirectories end in '/'). */
    public record Listing(List<Path> files, List<String> skipped) {}

    public static Listing list(List<String> globs, Configuration conf) throws IOException {
        List<Path> out = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (String g : globs) {
            Path p = new Path(g);
            FileStatus[] matches = p.getFileSystem(conf).globStatus(p);
            if (matches == null || matches.length == 0) {
                throw new IOException("no input matches " + g);
            }
            List<Path> files = new ArrayList<>();
            for (FileStatus s : matches) {
                if (s.isDirectory()) {
                    // A stage's output on an object store keeps its files in the version its pointer names.
                    Path dir = new Path(OutputPublisher.current(s.getPath().toString(), conf));
                    for (FileStatus c : dir.getFileSystem(conf).listStatus(dir)) {
                        String name = c.getPath().getName();
                        if (c.isFile() && !name.startsWith("_") && !name.startsWith(".")) {
                            files.add(c.getPath());
                        } else {
                            skipped.add(c.getPath() + (c.isDirectory() ? "/" : ""));
                        }
                    }
                } else {
                    files.add(s.getPath());
                }
            }
            files.sort(null);
            out.addAll(files);
        }
        skipped.sort(null);
        return new Listing(out, skipped);
    }

    /** About {@code targetSplits} splits over all files, each file cut by line count. */
    public static List<InputSplit> plan(List<Path> files, Configuration conf, int targetSplits) throws IOException {
        List<long[]> starts = new ArrayList<>();
        long totalLines = 0;
        for (Path f : files) {
            long[] s = lineStarts(f, conf);
            starts.add(s);
            totalLines += s.length;
        }
        long perSplit = Math.max(1, (totalLines + targetSplits - 1) / Math.max(1, targetSplits));
        List<InputSplit> splits = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            long[] s = starts.get(i);
            boolean compressed = isCompressed(files.get(i));
            for (long first = 0; first < s.length; first += perSplit) {
                long count = Math.min(perSplit, s.length - first);
                splits.add(new InputSplit(files.get(i).toString(), first + 1, count, s[(int) first], compressed));
            }
        }
        return splits;
    }

    /** Byte offsets (in the decompressed stream) where each line starts. */
    static long[] lineStarts(Path file, Configuration conf) throws IOException {
        FileSystem fs = file.getFileSystem(conf);
        long[] starts = new long[1024];
        int n = 0;
        long pos = 0;
        boolean atLineStart = true;
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Compression.decompress(fs.open(file), file.toString())) {
            int r;
            while ((r = in.read(buf)) > 0) {
                for (int i = 0; i < r; i++) {
                    if (atLineStart) {
                        if (n == starts.length) {
                            starts = Arrays.copyOf(starts, n * 2);
                        }
                        starts[n++] = pos + i;
                        atLineStart = false;
                    }
                    if (buf[i] == '\n') {
                        atLineStart = true;
                    }
                }
                pos += r;
            }
        } catch (IOException e) {
            // A corrupt or truncated archive: name the user's file and where reading stopped.
            throw new IOException("input " + file + " cannot be read past line " + n + " (byte " + pos
                    + " of its decompressed text): " + e.getMessage(), e);
        }
        return Arrays.copyOf(starts, n);
    }

    static boolean isCompressed(Path file) {
        String name = file.getName().toLowerCase(Locale.ROOT);
        return name.endsWith(".gz") || name.endsWith(".zst") || name.endsWith(".zstd");
    }

    /** Opens a split: plain files seek, compressed ones are decompressed and skipped to the offset. */
    public static InputStream open(InputSplit split, Configuration conf) throws IOException {
        Path p = new Path(split.path());
        var raw = p.getFileSystem(conf).open(p);
        if (!split.compressed()) {
            raw.seek(split.byteOffset());
            return Compression.decompress(raw, split.path());
        }
        InputStream in = Compression.decompress(raw, split.path());
        in.skipNBytes(split.byteOffset());
        return in;
    }
}
