package dev.eaglespark.data;

import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Conversations to training samples: validates turn structure, renders, tokenizes and masks.
 * Every conversation either comes out as a sample or goes to the reject sink with its reason.
 */
public final class TrainingSamples implements Iterator<TokenizedSample> {
    private final Iterator<Conversation> conversations;
    private final SampleEncoder encoder;
    private final RejectSink rejects;
    private TokenizedSample next;

    public TrainingSamples(Iterator<Conversation> conversations, SampleEncoder encoder, RejectSink rejects) {
        this.conversations = conversations;
        this.encoder = encoder;
        this.rejects = rejects;
    }

    @Override
    public boolean hasNext() {
        while (next == null && conversations.hasNext()) {
            next = encode(conversations.next(), encoder, rejects);
        }
        return next != null;
    }

    /** One conversation as a sample, or null after it went to {@code rejects} with its reason. */
    public static TokenizedSample encode(Conversation c, SampleEncoder encoder, RejectSink rejects) {
        try {
            ConversationValidator.validate(c);
            return encoder.encode(c);
        } catch (RejectedException e) {
            rejects.reject(new Reject(c.id(), e.reason(), e.getMessage(), c.source(), c.line()));
        } catch (RuntimeException e) {
            // A bug or a tokenizer failure on one record must not end the job either.
            rejects.reject(new Reject(c.id(), RejectReason.INTERNAL_ERROR, e.toString(), c.source(), c.line()));
        }
        return null;
    }

    @Override
    public TokenizedSample next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        TokenizedSample s = next;
        next = null;
        return s;
    }
}
