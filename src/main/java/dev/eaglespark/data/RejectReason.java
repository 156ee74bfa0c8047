package dev.eaglespark.data;

import java.util.Locale;

/** Why a record did not become a training sample. {@link #code()} is what the rejects file says. */
public enum RejectReason {
    /** The line is not valid JSON. */
    MALFORMED_JSON,
    /** The line is not valid UTF-8, or a JSON escape spells a lone surrogate (no Unicode character). */
    INVALID_UTF8,
    /** The line is longer than the configured byte limit (not even parsed). */
    RECORD_TOO_LARGE,
    /** JSON, but no known layout (ShareGPT, UltraChat, OpenAI messages) or fields of the wrong type. */
    WRONG_TYPE,
    /** No turns at all. */
    EMPTY_CONVERSATION,
    /** A turn whose content is empty or only whitespace. */
    EMPTY_TURN,
    /** Only user or only assistant turns: nothing to learn or nothing to answer. */
    ONE_SIDED,
    /** A speaker that is not system, user/human or assistant/gpt. */
    UNKNOWN_ROLE,
    /** Turns do not alternate user/assistant (after an optional leading system turn). */
    NON_ALTERNATING,
    /** The chat template failed ({@code raise_exception} or an error). */
    TEMPLATE_ERROR,
    /** An assistant turn could not be found in the rendered text. */
    ASSISTANT_NOT_FOUND,
    /** Longer than the maximum length, under {@link TruncationPolicy#DROP}. */
    TOO_LONG,
    /** After truncation no assistant token is left. */
    NO_ASSISTANT_TOKENS,
    /** The target's hidden states for this sample are not finite (fp16 overflow): not written. */
    NON_FINITE_FEATURES,
    /** An unexpected failure on this record (reported, so that it is not lost). */
    INTERNAL_ERROR;

    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }
}
