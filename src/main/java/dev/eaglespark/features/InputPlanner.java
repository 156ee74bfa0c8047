package dev.eaglespark.features;

import dev.eaglespark.data.Compression;
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

/**
 * Cuts conversation files into splits of whole lines with near-equal line counts. Every file
 * is scanned once (decompressed) to find line starts, so splits of compressed files work too
 * and each split knows its absolute line numbers (record ids made from file and line stay
 * the same however the input is split).
 */
public final class InputPlanner {
    private InputPlanner() {}

    /** Expands globs (any Hadoop file system) to the matching files, sorted; fails on none. */
    public static List<Path> files(List<String> globs, Configuration conf) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String g : globs) {
            Path p = new Path(g);
            FileStatus[] matches = p.getFileSystem(conf).globStatus(p);
            if (matches == null || matches.length == 0) {
                throw new IOException("no input matches " + g);
            }
            List<Path> files = new ArrayList<>();
            for (FileStatus s : matches) {
                if (s.isDirectory()) {
                    for (FileStatus c : s.getPath().getFileSystem(conf).listStatus(s.getPath())) {
                        if (c.isFile() && !c.getPath().getName().startsWith("_") && !c.getPath().getName().startsWith(".")) {
                            files.add(c.getPath());
                        }
                    }
                } else {
                    files.add(s.getPath());
                }
            }
            files.sort(null);
            out.addAll(files);
        }
        return out;
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
        try (InputStream in = Compression.decompress(fs.open(file), file.getName())) {
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
            return Compression.decompress(raw, p.getName());
        }
        InputStream in = Compression.decompress(raw, p.getName());
        in.skipNBytes(split.byteOffset());
        return in;
    }
}
