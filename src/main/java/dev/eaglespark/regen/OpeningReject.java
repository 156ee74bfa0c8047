package dev.eaglespark.regen;

import java.util.Locale;

/** Why a sampled story gave no opening, or why its opening was not kept. */
public enum OpeningReject {
    /** No sentence end before a line break or before the sampled text runs out. */
    NO_SENTENCE_END,
    /** Fewer words than the minimum. */
    TOO_SHORT,
    /** An odd number of double quotes: a quotation left open. */
    UNBALANCED_QUOTES,
    /** The same text as an opening kept earlier. */
    DUPLICATE,
    /** The same text as an opening of an excluded file (e.g. the training set, for held-out prompts). */
    EXCLUDED;

    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }
}
