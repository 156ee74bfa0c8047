package dev.eaglespark.data;

import java.util.ArrayList;
import java.util.List;

/** Conversation to token ids and assistant-only loss mask, through the model's chat template. */
public final class SampleEncoder {
    private final ChatTemplate template;
    private final ChatTokenizer tokenizer;
    private final int maxLength;
    private final TruncationPolicy truncation;

    public SampleEncoder(ChatTemplate template, ChatTokenizer tokenizer, int maxLength, TruncationPolicy truncation) {
        if (maxLength <= 0) {
            throw new IllegalArgumentException("maxLength must be positive");
        }
        this.template = template;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.truncation = truncation;
    }

    /**
     * The prompt that asks the model for its next turn: the messages rendered with the template's
     * generation prompt, contents tokenized as plain text. Longer than the maximum length is
     * rejected ({@code too_long}): a cut prompt would ask a different question.
     */
    public int[] encodePrompt(List<Message> messages) throws RejectedException {
        String text = render(messages, true);
        List<TextSpan> contents = new ArrayList<>();
        for (ContentLocator.Located l : locate(text, messages)) {
            contents.add(l.content());
        }
        int[] ids = tokenizer.encode(text, contents).ids();
        if (ids.length > maxLength) {
            throw new RejectedException(RejectReason.TOO_LONG, "prompt of " + ids.length + " tokens > max length "
                    + maxLength);
        }
        return ids;
    }

    private String render(List<Message> messages, boolean generationPrompt) throws RejectedException {
        try {
            return template.render(messages, generationPrompt);
        } catch (TemplateException e) {
            throw new RejectedException(RejectReason.TEMPLATE_ERROR, e.getMessage());
        }
    }

    private List<ContentLocator.Located> locate(String text, List<Message> messages) throws RejectedException {
        try {
            return ContentLocator.locate(text, messages, tokenizer);
        } catch (ContentLocator.NotFound e) {
            throw new RejectedException(RejectReason.ASSISTANT_NOT_FOUND, e.getMessage());
        }
    }

    public TokenizedSample encode(Conversation c) throws RejectedException {
        String text = render(c.messages(), false);
        List<TextSpan> contents = new ArrayList<>();
        List<TextSpan> loss = new ArrayList<>();
        for (ContentLocator.Located l : locate(text, c.messages())) {
            contents.add(l.content());
            if (l.lossSpan() != null) {
                loss.add(l.lossSpan());
            }
        }
        ChatTokenizer.Tokens tokens = tokenizer.encode(text, contents);
        int n = tokens.size();
        if (n > maxLength) {
            if (truncation == TruncationPolicy.DROP) {
                throw new RejectedException(RejectReason.TOO_LONG, n + " tokens > max length " + maxLength);
            }
            n = maxLength;
        }
        int[] ids = java.util.Arrays.copyOf(tokens.ids(), n);
        byte[] mask = new byte[n];
        int span = 0;
        boolean any = false;
        for (int t = 0; t < n; t++) {
            // Spans and tokens are both in text order: one pass.
            while (span < loss.size() && loss.get(span).end() <= tokens.starts()[t]) {
                span++;
            }
            if (span < loss.size() && loss.get(span).overlaps(tokens.starts()[t], tokens.ends()[t])) {
                mask[t] = 1;
                any = true;
            }
        }
        if (!any) {
            throw new RejectedException(RejectReason.NO_ASSISTANT_TOKENS,
                    "no assistant token within the first " + n + " tokens");
        }
        return new TokenizedSample(c.id(), ids, mask);
    }
}
