package dev.eaglespark.vocab;

import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.SafeTensorsWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The draft model's vocabulary: the K most frequent target tokens among loss-masked tokens
 * (ties to the lower id), sorted by id. {@code t2d[target id]} says whether a target token is
 * in it; {@code d2t[draft id]} is the offset to add to a draft id to get its target id (the
 * identity mapping is all zeros). Its file, {@value #FILE}, is written and read here only.
 */
public record DraftVocab(boolean[] t2d, long[] d2t, long[] tokenCounts) {
    /** The vocab stage's file of the vocabulary. */
    public static final String FILE = "vocab.safetensors";
    /** Tensor names, the reference trainer's (also in an exported draft's model.safetensors). */
    public static final String T2D = "t2d";
    public static final String D2T = "d2t";
    public static final String TOKEN_COUNTS = "token_counts";

    /** The top {@code size} tokens by count; {@code size} at least the vocabulary keeps it whole. */
    public static DraftVocab fromCounts(long[] counts, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("draft vocabulary size must be positive, got " + size);
        }
        int v = counts.length;
        int k = Math.min(size, v);
        int[] top = IntStream.range(0, v).boxed()
                .sorted(Comparator.<Integer>comparingLong(i -> counts[i]).reversed().thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
        boolean[] t2d = new boolean[v];
        long[] d2t = new long[k];
        for (int i = 0; i < k; i++) {
            t2d[top[i]] = true;
            d2t[i] = top[i] - i;
        }
        return new DraftVocab(t2d, d2t, counts.clone());
    }

    /**
     * The vocabulary in {@code f} under {@code prefix}: t2d as 0/1 (BOOL read as integers), d2t
     * offsets and token counts (zeros where the file has none: exported drafts, reference dumps).
     */
    public static DraftVocab read(SafeTensorsFile f, String prefix) {
        long[] t2d = f.readLongs(prefix + T2D);
        boolean[] in = new boolean[t2d.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = t2d[i] != 0;
        }
        long[] counts = f.contains(prefix + TOKEN_COUNTS) ? f.readLongs(prefix + TOKEN_COUNTS) : new long[in.length];
        return new DraftVocab(in, f.readLongs(prefix + D2T), counts);
    }

    /** The vocab stage's {@value #FILE} at {@code file} (any Hadoop URI; its current version). */
    public static DraftVocab read(String file, Configuration conf) throws IOException {
        if (file == null) {
            throw new IOException("a standard draft needs --vocab (the vocab stage's " + FILE + ")");
        }
        Path p = new Path(OutputPublisher.currentFile(file, conf));
        java.nio.file.Path local = Files.createTempFile("eaglespark-vocab", ".safetensors");
        try {
            p.getFileSystem(conf).copyToLocalFile(false, p, new Path(local.toUri()), true);
            try (SafeTensorsFile f = SafeTensorsFile.open(local)) {
                return read(f, "");
            }
        } finally {
            Files.deleteIfExists(local);
        }
    }

    /** Writes {@value #FILE} into the directory {@code dir}. */
    public void write(Path dir, Configuration conf) throws IOException {
        try (OutputStream os = dir.getFileSystem(conf).create(new Path(dir, FILE), true)) {
            toSafeTensors().writeTo(os);
        }
    }

    /** The full vocabulary (shared-head drafts): t2d all true, d2t all zeros. */
    public static DraftVocab identity(int vocabSize) {
        boolean[] t2d = new boolean[vocabSize];
        Arrays.fill(t2d, true);
        return new DraftVocab(t2d, new long[vocabSize], new long[vocabSize]);
    }

    public int size() {
        return d2t.length;
    }

    public int targetVocabSize() {
        return t2d.length;
    }

    /** Target id of a draft id. */
    public long targetId(int draftId) {
        return draftId + d2t[draftId];
    }

    /** Share of counted (loss-masked) tokens that the draft vocabulary covers; 1 when nothing was counted. */
    public double coverage() {
        long total = 0;
        long inside = 0;
        for (int i = 0; i < tokenCounts.length; i++) {
            total += tokenCounts[i];
            if (t2d[i]) {
                inside += tokenCounts[i];
            }
        }
        return total == 0 ? 1.0 : (double) inside / total;
    }

    /** t2d (BOOL), d2t (I64) and token_counts (I64). */
    private SafeTensorsWriter toSafeTensors() {
        return new SafeTensorsWriter()
                .addBools(T2D, t2d)
                .addLongs(D2T, new long[] {d2t.length}, d2t)
                .addLongs(TOKEN_COUNTS, new long[] {tokenCounts.length}, tokenCounts);
    }
}
