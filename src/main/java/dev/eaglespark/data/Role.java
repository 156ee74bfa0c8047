package dev.eaglespark.data;

import java.util.Locale;
import java.util.Optional;

/** Who speaks a turn, under the names chat templates expect ({@code message.role}). */
public enum Role {
    SYSTEM, USER, ASSISTANT;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Accepts the spellings of ShareGPT ({@code human}, {@code gpt}) and of OpenAI/UltraChat. */
    public static Optional<Role> parse(String name) {
        if (name == null) {
            return Optional.empty();
        }
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "system": return Optional.of(SYSTEM);
            case "human": case "user": return Optional.of(USER);
            case "gpt": case "assistant": case "chatgpt": case "bard": case "bing": case "model":
                return Optional.of(ASSISTANT);
            default: return Optional.empty();
        }
    }
}
