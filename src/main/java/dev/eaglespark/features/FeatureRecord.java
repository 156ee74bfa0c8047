package dev.eaglespark.features;

/**
 * One stage-1 sample: token ids, assistant-only loss mask, and the target's hidden states as
 * little-endian fp16 bytes: {@code auxHidden} [T, 3H] (the aux layers side by side) and
 * {@code lastHidden} [T, H] (the last layer's output before the final norm). A row of the
 * {@link FeatureTable}.
 */
public record FeatureRecord(String id, int[] inputIds, byte[] lossMask, byte[] auxHidden, byte[] lastHidden) {
    public int length() {
        return inputIds.length;
    }

    /** Tokens under the loss mask. */
    public int maskedTokens() {
        int n = 0;
        for (byte b : lossMask) {
            n += b;
        }
        return n;
    }
}
