package dev.eaglespark.data;

import java.util.List;

/** A conversation read from a file, with where it came from (for rejects and stable ids). */
public record Conversation(String id, List<Message> messages, String source, long line, Layout layout) {
    public Conversation {
        messages = List.copyOf(messages);
    }

    public Conversation(String id, List<Message> messages, String source, long line) {
        this(id, messages, source, line, Layout.MESSAGES);
    }

    /** The same record with other messages (a regenerated conversation). */
    public Conversation withMessages(List<Message> newMessages) {
        return new Conversation(id, newMessages, source, line, layout);
    }
}
