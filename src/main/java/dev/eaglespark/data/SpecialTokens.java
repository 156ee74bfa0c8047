package dev.eaglespark.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The special added tokens of a {@code tokenizer.json}: their text and ids, and where they occur. */
final class SpecialTokens {
    private final Map<String, Integer> ids = new HashMap<>();
    /** Longest first, so that a token that is a prefix of another never wins. */
    private final List<String> byLength = new ArrayList<>();
    /** First chars of all special tokens: most positions are ruled out with one lookup. */
    private final java.util.BitSet firstChars = new java.util.BitSet();

    SpecialTokens(JsonNode tokenizerJson) {
        for (JsonNode t : tokenizerJson.path("added_tokens")) {
            if (t.path("special").asBoolean(false)) {
                ids.put(t.get("content").asText(), t.get("id").asInt());
            }
        }
        byLength.addAll(ids.keySet());
        byLength.sort(Comparator.comparingInt(String::length).reversed());
        byLength.stream().filter(t -> !t.isEmpty()).forEach(t -> firstChars.set(t.charAt(0)));
    }

    Integer id(String token) {
        return ids.get(token);
    }

    /** The special token that starts at {@code at} in {@code text}, or null. */
    String at(String text, int at) {
        if (at >= text.length() || !firstChars.get(text.charAt(at))) {
            return null;
        }
        for (String t : byLength) {
            if (text.startsWith(t, at)) {
                return t;
            }
        }
        return null;
    }

    /** Whether {@code id} is one of the special tokens. */
    boolean isSpecialId(int id) {
        return ids.containsValue(id);
    }
}
