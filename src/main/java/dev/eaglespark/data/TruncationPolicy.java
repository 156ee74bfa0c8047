package dev.eaglespark.data;

import java.util.Locale;

/** What to do with a conversation longer than the maximum sequence length. */
public enum TruncationPolicy {
    /** Keep the first max-length tokens (SpecForge's behaviour, the default). */
    TRUNCATE,
    /** Reject the whole conversation as {@link RejectReason#TOO_LONG}. */
    DROP;

    /** {@code truncate} or {@code drop}. */
    public static TruncationPolicy parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("must be truncate or drop, got '" + s + "'");
        }
    }
}
