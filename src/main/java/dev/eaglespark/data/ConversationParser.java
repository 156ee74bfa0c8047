package dev.eaglespark.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One JSON record to a {@link Conversation}, whatever its layout:
 * <ul>
 *   <li>ShareGPT: {@code conversations} of {@code {from, value}};</li>
 *   <li>OpenAI and UltraChat (Hugging Face layout): {@code messages} of {@code {role, content}},
 *       content a string or a list of {@code {type: "text", text}} parts;</li>
 *   <li>UltraChat (original layout): {@code data}, strings alternating user/assistant;</li>
 *   <li>MT-bench questions: {@code turns}, user strings only (prompts; one-sided for training).</li>
 * </ul>
 * Checks structure and types only; {@link ConversationValidator} checks the turn order.
 */
final class ConversationParser {
    private static final String[] ID_FIELDS = {"id", "prompt_id", "question_id", "conversation_id", "uuid"};

    private ConversationParser() {}

    static Conversation parse(JsonNode root, String source, long line) throws RejectedException {
        if (!root.isObject()) {
            throw new RejectedException(RejectReason.WRONG_TYPE, "record is a JSON " + root.getNodeType() + ", not an object");
        }
        String id = id(root, source, line);
        List<Message> messages;
        Layout layout;
        if (root.has("conversations")) {
            messages = turns(array(root, "conversations"), "from", "value");
            layout = Layout.SHAREGPT;
        } else if (root.has("messages")) {
            messages = turns(array(root, "messages"), "role", "content");
            layout = Layout.MESSAGES;
        } else if (root.has("data")) {
            messages = alternating(array(root, "data"), Role.USER, Role.ASSISTANT);
            layout = Layout.ALTERNATING;
        } else if (root.has("turns")) {
            messages = alternating(array(root, "turns"), Role.USER, Role.USER);
            layout = Layout.PROMPTS;
        } else {
            throw new RejectedException(RejectReason.WRONG_TYPE, "no conversations, messages, data or turns field");
        }
        checkUnicode(id, "the id");
        for (int i = 0; i < messages.size(); i++) {
            checkUnicode(messages.get(i).content(), "turn " + i);
        }
        return new Conversation(id, messages, source, line, layout);
    }

    /**
     * JSON's {@code \\uD800} escapes can spell half of a surrogate pair, which is no Unicode
     * character: no UTF-8 output (regenerate's, the rejects') and no tokenizer can hold it, so the
     * record is refused here, as Python would fail to encode it, instead of turning into "?".
     */
    private static void checkUnicode(String s, String where) throws RejectedException {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new RejectedException(RejectReason.INVALID_UTF8, String.format(
                        "%s has a lone surrogate \\u%04X at char %d (a \\u escape that is not a Unicode character)",
                        where, (int) c, i));
            }
        }
    }

    /** The record's own id if it has one, else {@code file:line}: stable across runs. */
    static String id(JsonNode root, String source, long line) {
        for (String field : ID_FIELDS) {
            JsonNode v = root.get(field);
            if (v != null && (v.isTextual() || v.isIntegralNumber()) && !v.asText().isBlank()) {
                return v.asText();
            }
        }
        return baseName(source) + ":" + line;
    }

    private static String baseName(String source) {
        int slash = source.lastIndexOf('/');
        return slash >= 0 ? source.substring(slash + 1) : source;
    }

    private static JsonNode array(JsonNode root, String field) throws RejectedException {
        JsonNode a = root.get(field);
        if (!a.isArray()) {
            throw new RejectedException(RejectReason.WRONG_TYPE, field + " is a " + a.getNodeType() + ", not an array");
        }
        return a;
    }

    private static List<Message> turns(JsonNode array, String roleField, String contentField) throws RejectedException {
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            JsonNode turn = array.get(i);
            if (!turn.isObject()) {
                throw new RejectedException(RejectReason.WRONG_TYPE, "turn " + i + " is not an object");
            }
            JsonNode who = turn.get(roleField);
            if (who == null || !who.isTextual()) {
                throw new RejectedException(RejectReason.WRONG_TYPE, "turn " + i + " has no string " + roleField);
            }
            String turnName = "turn " + i;
            Role role = Role.parse(who.asText()).orElseThrow(() -> new RejectedException(RejectReason.UNKNOWN_ROLE,
                    turnName + " has " + roleField + " \"" + who.asText() + "\""));
            out.add(new Message(role, content(turn.get(contentField), i, contentField)));
        }
        return out;
    }

    /** A string, or OpenAI's list of parts of which the text ones are joined. */
    private static String content(JsonNode c, int i, String field) throws RejectedException {
        if (c != null && c.isTextual()) {
            return c.asText();
        }
        if (c != null && c.isArray()) {
            StringBuilder b = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw new RejectedException(RejectReason.WRONG_TYPE, "turn " + i + " has a non-text content part");
                }
                b.append(part.get("text").asText());
            }
            return b.toString();
        }
        throw new RejectedException(RejectReason.WRONG_TYPE, "turn " + i + " has no string " + field);
    }

    private static List<Message> alternating(JsonNode array, Role even, Role odd) throws RejectedException {
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            if (!array.get(i).isTextual()) {
                throw new RejectedException(RejectReason.WRONG_TYPE, "turn " + i + " is not a string");
            }
            out.add(new Message(i % 2 == 0 ? even : odd, array.get(i).asText()));
        }
        return out;
    }
}
