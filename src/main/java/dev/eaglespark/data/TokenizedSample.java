package dev.eaglespark.data;

import java.util.Arrays;

/**
 * One training sequence. {@code inputIds} are int: every supported vocabulary is far below
 * 2^31, and int halves the memory of long. {@code lossMask} is one byte per token, 1 where the
 * token belongs to an assistant turn (its content and end-of-turn token), else 0.
 */
public record TokenizedSample(String id, int[] inputIds, byte[] lossMask) {
    public TokenizedSample {
        if (inputIds.length != lossMask.length) {
            throw new IllegalArgumentException("ids and mask differ in length");
        }
    }

    public int length() {
        return inputIds.length;
    }

    public int maskedTokens() {
        int n = 0;
        for (byte b : lossMask) {
            n += b;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenizedSample s && id.equals(s.id) && Arrays.equals(inputIds, s.inputIds)
                && Arrays.equals(lossMask, s.lossMask);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * id.hashCode() + Arrays.hashCode(inputIds)) + Arrays.hashCode(lossMask);
    }

    @Override
    public String toString() {
        return "TokenizedSample[" + id + ", " + inputIds.length + " tokens, " + maskedTokens() + " masked]";
    }
}
