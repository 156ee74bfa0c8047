package dev.eaglespark.data;

/** The JSON layout a conversation was read from, so that rewritten records keep it. */
public enum Layout {
    /** {@code conversations} of {@code {from, value}}. */
    SHAREGPT,
    /** {@code messages} of {@code {role, content}} (OpenAI, UltraChat on Hugging Face). */
    MESSAGES,
    /** {@code data}: strings alternating user/assistant (UltraChat's original layout). */
    ALTERNATING,
    /** {@code turns}: user prompts only (MT-bench); written back as {@code messages}. */
    PROMPTS
}
