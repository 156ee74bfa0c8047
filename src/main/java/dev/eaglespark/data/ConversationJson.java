package dev.eaglespark.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A conversation as one JSON line in the layout it was read from (prompt-only records come
 * back as {@code messages}, which can hold the answers). The id is written as {@code id},
 * which every reader layout accepts, so the output reads back with the same ids.
 */
public final class ConversationJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConversationJson() {}

    public static String toLine(Conversation c) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", c.id());
        switch (c.layout()) {
            case SHAREGPT -> {
                ArrayNode turns = root.putArray("conversations");
                for (Message m : c.messages()) {
                    turns.addObject().put("from", shareGptName(m.role())).put("value", m.content());
                }
            }
            case ALTERNATING -> {
                ArrayNode data = root.putArray("data");
                c.messages().forEach(m -> data.add(m.content()));
            }
            default -> {
                ArrayNode messages = root.putArray("messages");
                for (Message m : c.messages()) {
                    messages.addObject().put("role", m.role().wireName()).put("content", m.content());
                }
            }
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String shareGptName(Role role) {
        return switch (role) {
            case USER -> "human";
            case ASSISTANT -> "gpt";
            case SYSTEM -> "system";
        };
    }
}
