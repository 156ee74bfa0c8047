package dev.eaglespark.vocab;

import dev.eaglespark.tensors.SafeTensorsWriter;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The draft model's vocabulary: the K most frequent target tokens among loss-masked tokens
 * (ties to the lower id), sorted by id. {@code t2d[target id]} says whether a target token is
 * in it; {@code d2t[draft id]} is the offset to add to a draft id to get its target id (the
 * identity mapping is all zeros).
 */
public record DraftVocab(boolean[] t2d, long[] d2t, long[] tokenCounts) {

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

    /** From stored tensors: t2d as 0/1 (BOOL read as integers), d2t offsets, token counts (may be null). */
    public static DraftVocab fromTensors(long[] t2d, long[] d2t, long[] counts) {
        boolean[] in = new boolean[t2d.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = t2d[i] != 0;
        }
        return new DraftVocab(in, d2t, counts != null ? counts : new long[in.length]);
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

    /** t2d (BOOL), d2t (I64) and token_counts (I64), the names the reference trainer uses. */
    public SafeTensorsWriter toSafeTensors() {
        return new SafeTensorsWriter()
                .addBools("t2d", t2d)
                .addLongs("d2t", new long[] {d2t.length}, d2t)
                .addLongs("token_counts", new long[] {tokenCounts.length}, tokenCounts);
    }
}
