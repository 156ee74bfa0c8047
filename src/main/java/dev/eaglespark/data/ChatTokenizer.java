package dev.eaglespark.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * Tokenizes a rendered chat so that only template-produced special-token text becomes special
 * tokens; the same text inside message content stays ordinary text.
 *
 * <p>How: Hugging Face tokenizers first cut the input at special added tokens and then
 * tokenize each piece on its own. This class does that cut itself, skipping the ranges that are
 * message content, and tokenizes the pieces with a copy of the tokenizer whose special added
 * tokens were disabled (so their text inside a piece is split like any other text, as
 * transformers' {@code split_special_tokens=True} does). For text without special-token text
 * in content the ids equal those of tokenizing the whole text at once (tested).
 * Limitation: special added tokens with {@code lstrip}/{@code rstrip} set would also eat
 * neighbouring spaces in transformers; none of the supported tokenizers has them.
 */
public final class ChatTokenizer implements AutoCloseable {
    /** Unicode noncharacters around the id: a sequence no real text contains. */
    static final String UNMATCHABLE = "\uFFFF\uFDD0";
    private final HuggingFaceTokenizer plain;
    private final SpecialTokens specials;

    private ChatTokenizer(HuggingFaceTokenizer plain, SpecialTokens specials) {
        this.plain = plain;
        this.specials = specials;
    }

    /** From a {@code tokenizer.json}. */
    public static ChatTokenizer read(InputStream tokenizerJson) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        JsonNode root = mapper.readTree(tokenizerJson);
        SpecialTokens specials = new SpecialTokens(root);
        // Special tokens keep their slot (the library numbers added tokens by position, not by
        // their "id") but get a text no input contains, so the plain copy never matches them.
        for (JsonNode t : root.path("added_tokens")) {
            if (t.path("special").asBoolean(false)) {
                ((ObjectNode) t).put("content", UNMATCHABLE + t.get("id").asText() + UNMATCHABLE);
            }
        }
        // DJL truncates at 512 tokens unless told otherwise; length is our policy, not the tokenizer's.
        Map<String, String> options = Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false");
        HuggingFaceTokenizer plain = HuggingFaceTokenizer.newInstance(
                new ByteArrayInputStream(mapper.writeValueAsBytes(root)), options);
        return new ChatTokenizer(plain, specials);
    }

    /** Token ids with the UTF-16 [start, end) range of {@code text} each token came from. */
    public record Tokens(int[] ids, int[] starts, int[] ends) {
        public int size() {
            return ids.length;
        }
    }

    /**
     * Tokenizes {@code text}; special-token text inside {@code plainText} ranges (message
     * contents, sorted) is tokenized as ordinary text. No BOS/EOS is added: the template renders them.
     */
    public Tokens encode(String text, List<TextSpan> plainText) {
        TokenBuffer out = new TokenBuffer();
        int pieceStart = 0;
        int region = 0;
        int i = 0;
        while (i < text.length()) {
            while (region < plainText.size() && plainText.get(region).end() <= i) {
                region++;
            }
            if (region < plainText.size() && plainText.get(region).contains(i)) {
                i = plainText.get(region).end();
                continue;
            }
            String special = specials.at(text, i);
            if (special == null) {
                i++;
                continue;
            }
            encodePiece(text, pieceStart, i, out);
            out.add(specials.id(special), i, i + special.length());
            i += special.length();
            pieceStart = i;
        }
        encodePiece(text, pieceStart, text.length(), out);
        return out.toTokens();
    }

    /** The special token whose text starts at {@code at} in {@code text}, or null. */
    public String specialAt(String text, int at) {
        return specials.at(text, at);
    }

    /** The id of a special token's text, or null. */
    public Integer specialId(String token) {
        return specials.id(token);
    }

    /** Text of generated ids, special tokens (end of turn and the like) left out. */
    public String decodeText(int[] ids) {
        return decode(java.util.Arrays.stream(ids).filter(id -> !specials.isSpecialId(id)).toArray());
    }

    public String decode(int[] ids) {
        return plain.decode(java.util.Arrays.stream(ids).asLongStream().toArray(), false);
    }

    private void encodePiece(String text, int from, int to, TokenBuffer out) {
        if (from >= to) {
            return;
        }
        String piece = text.substring(from, to);
        Encoding e = plain.encode(piece, false, false);
        long[] ids = e.getIds();
        CharSpan[] spans = e.getCharTokenSpans();
        // The native side counts offsets in code points; Java strings index UTF-16 units.
        int[] utf16 = codePointToUtf16(piece);
        for (int k = 0; k < ids.length; k++) {
            CharSpan s = spans[k];
            int start = s == null ? 0 : utf16[Math.min(s.getStart(), utf16.length - 1)];
            int end = s == null ? 0 : utf16[Math.min(s.getEnd(), utf16.length - 1)];
            out.add((int) ids[k], from + start, from + end);
        }
    }

    private static int[] codePointToUtf16(String s) {
        int[] map = new int[s.codePointCount(0, s.length()) + 1];
        int cp = 0;
        for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) {
            map[cp++] = i;
        }
        map[cp] = s.length();
        return map;
    }

    @Override
    public void close() {
        plain.close();
    }

    /** Growable parallel arrays of ids and offsets. */
    private static final class TokenBuffer {
        private int[] ids = new int[256];
        private int[] starts = new int[256];
        private int[] ends = new int[256];
        private int n;

        void add(int id, int start, int end) {
            if (n == ids.length) {
                ids = java.util.Arrays.copyOf(ids, n * 2);
                starts = java.util.Arrays.copyOf(starts, n * 2);
                ends = java.util.Arrays.copyOf(ends, n * 2);
            }
            ids[n] = id;
            starts[n] = start;
            ends[n] = end;
            n++;
        }

        Tokens toTokens() {
            return new Tokens(java.util.Arrays.copyOf(ids, n), java.util.Arrays.copyOf(starts, n),
                    java.util.Arrays.copyOf(ends, n));
        }
    }
}
