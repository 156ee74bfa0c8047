package dev.eaglespark.data;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds where each message's content landed in a rendered chat, without sentinels (which
 * would break {@code trim}, {@code startswith} and friends inside templates).
 *
 * <p>Messages are searched in order, each after the previous one's match. A template may
 * render content trimmed, or (Qwen3) only the part after {@code </think>}, so each message has
 * a few candidate forms. The match that ends first wins, and of those the shortest: whitespace
 * that could belong to either is the template's, as in the reference spans. The answer-only
 * forms are tried only when no form of the whole content is there, so a turn the template
 * renders whole keeps its reasoning in the mask. An assistant match
 * must be followed directly by a special token (its end-of-turn token, e.g. {@code <|eot_id|>},
 * {@code <|im_end|>}), which also keeps it from matching the same words inside a user turn.
 * The assistant span is the content plus that token: what the model has to learn to write.
 */
final class ContentLocator {
    /** One located message: where its content is, and for an assistant the loss span. */
    record Located(int messageIndex, Role role, TextSpan content, TextSpan lossSpan) {}

    /** Thrown when an assistant turn's content is not in the render (the template rewrote it). */
    static final class NotFound extends Exception {
        NotFound(String message) {
            super(message);
        }
    }

    private ContentLocator() {}

    static List<Located> locate(String text, List<Message> messages, ChatTokenizer tokenizer) throws NotFound {
        List<Located> out = new ArrayList<>();
        int cursor = 0;
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            boolean assistant = m.role() == Role.ASSISTANT;
            int bestAt = -1;
            String best = null;
            for (Set<String> tier : forms(m)) {
                for (String form : tier) {
                    int at = find(text, form, cursor, assistant, tokenizer);
                    if (at >= 0 && (best == null || earlier(at, form, bestAt, best))) {
                        bestAt = at;
                        best = form;
                    }
                }
                if (best != null) {
                    break;
                }
            }
            if (best == null) {
                if (assistant) {
                    throw new NotFound("assistant turn " + i + " is not in the rendered text followed by an end-of-turn token");
                }
                continue; // The template left this turn out or rewrote it: nothing to protect.
            }
            int end = bestAt + best.length();
            TextSpan loss = assistant ? new TextSpan(bestAt, end + tokenizer.specialAt(text, end).length()) : null;
            out.add(new Located(i, m.role(), new TextSpan(bestAt, end), loss));
            cursor = loss != null ? loss.end() : end;
        }
        return out;
    }

    private static boolean earlier(int at, String form, int bestAt, String best) {
        int end = at + form.length();
        int bestEnd = bestAt + best.length();
        return end < bestEnd || (end == bestEnd && form.length() < best.length());
    }

    private static int find(String text, String form, int from, boolean needsEndOfTurn, ChatTokenizer tokenizer) {
        for (int at = text.indexOf(form, from); at >= 0; at = text.indexOf(form, at + 1)) {
            if (!needsEndOfTurn || tokenizer.specialAt(text, at + form.length()) != null) {
                return at;
            }
        }
        return -1;
    }

    /**
     * The ways templates render a content, in tiers: the content as is or trimmed; then, for an
     * assistant turn with reasoning, only its answer after {@code </think>}.
     */
    static List<Set<String>> forms(Message m) {
        String c = m.content();
        Set<String> whole = nonEmpty(c, PyStrings.strip(c, null), PyStrings.lstrip(c, "\n"));
        if (m.role() != Role.ASSISTANT || !c.contains("</think>")) {
            return List.of(whole);
        }
        String answer = PyStrings.lstrip(c.substring(c.lastIndexOf("</think>") + "</think>".length()), "\n");
        return List.of(whole, nonEmpty(answer, PyStrings.strip(answer, null)));
    }

    private static Set<String> nonEmpty(String... forms) {
        Set<String> set = new LinkedHashSet<>(List.of(forms));
        set.remove("");
        return set;
    }
}
