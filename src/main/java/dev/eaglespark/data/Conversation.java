package dev.eaglespark.data;

import java.util.List;

/** A conversation read from a file, with where it came from (for rejects and stable ids). */
public record Conversation(String id, List<Message> messages, String source, long line) {
    public Conversation {
        messages = List.copyOf(messages);
    }

    public boolean hasAssistantTurn() {
        return messages.stream().anyMatch(m -> m.role() == Role.ASSISTANT);
    }
}
