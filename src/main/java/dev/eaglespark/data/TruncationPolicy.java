package dev.eaglespark.data;

/** What to do with a conversation longer than the maximum sequence length. */
public enum TruncationPolicy {
    /** Keep the first max-length tokens (SpecForge's behaviour, the default). */
    TRUNCATE,
    /** Reject the whole conversation as {@link RejectReason#TOO_LONG}. */
    DROP
}
