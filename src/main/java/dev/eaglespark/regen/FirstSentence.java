package dev.eaglespark.regen;

import java.util.Set;

/**
 * The first sentence of a sampled story, by fixed rules. A sentence ends at the first '.', '!'
 * or '?' that is followed (after any closing quotes or brackets, which stay with it) by
 * whitespace, or that ends a story the model finished (it emitted its end of text). A '.' after
 * a title (Mr, Mrs, Ms, Dr, St) does not end a sentence. Rejected: no such end before a line
 * break or before the text runs out (a text cut by the token limit may stop inside a sentence),
 * fewer than {@code minWords} words, and an odd number of double quotes (a quotation left open).
 */
public final class FirstSentence {
    /** The sentence, or why there is none. */
    public record Result(String sentence, OpeningReject reject) {}

    private static final Set<String> TITLES = Set.of("mr", "mrs", "ms", "dr", "st");
    private static final String CLOSERS = "\"'”’)";

    private FirstSentence() {}

    /**
     * @param text the decoded sample, from the story's start
     * @param storyEnded whether the model ended the story there (so the text's end is a real end)
     */
    public static Result of(String text, boolean storyEnded, int minWords) {
        String t = text.strip();
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\n' || c == '\r') {
                break;
            }
            if (c != '.' && c != '!' && c != '?') {
                continue;
            }
            int end = i + 1;
            while (end < t.length() && CLOSERS.indexOf(t.charAt(end)) >= 0) {
                end++;
            }
            boolean atEnd = end == t.length();
            if ((atEnd && !storyEnded) || (!atEnd && !Character.isWhitespace(t.charAt(end)))) {
                continue;
            }
            if (c == '.' && TITLES.contains(lastWord(t, i))) {
                continue;
            }
            return judge(t.substring(0, end), minWords);
        }
        return new Result(null, OpeningReject.NO_SENTENCE_END);
    }

    private static Result judge(String sentence, int minWords) {
        if (sentence.split("\\s+").length < minWords) {
            return new Result(null, OpeningReject.TOO_SHORT);
        }
        if (sentence.chars().filter(ch -> ch == '"').count() % 2 != 0) {
            return new Result(null, OpeningReject.UNBALANCED_QUOTES);
        }
        return new Result(sentence, null);
    }

    /** The letters just before position {@code at}, lower-cased. */
    private static String lastWord(String t, int at) {
        int start = at;
        while (start > 0 && Character.isLetter(t.charAt(start - 1))) {
            start--;
        }
        return t.substring(start, at).toLowerCase(java.util.Locale.ROOT);
    }
}
