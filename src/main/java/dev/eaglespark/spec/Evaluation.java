package dev.eaglespark.spec;

import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.Message;
import dev.eaglespark.data.RejectSink;
import dev.eaglespark.data.RejectedException;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.Role;
import dev.eaglespark.data.SampleEncoder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;

/**
 * Measures a proposer on real prompts: the first user turn of each conversation (system
 * prompt kept), rendered through the target's chat template with its generation prompt.
 */
public final class Evaluation {
    private Evaluation() {}

    /** Token ids of each conversation's first question, up to {@code limit} of them. */
    public static List<long[]> prompts(Iterator<Conversation> conversations, SampleEncoder encoder, int limit,
                                       RejectSink rejects) {
        List<long[]> out = new ArrayList<>();
        while (conversations.hasNext() && out.size() < limit) {
            Conversation c = conversations.next();
            List<Message> first = new ArrayList<>();
            for (Message m : c.messages()) {
                first.add(m);
                if (m.role() == Role.USER) {
                    break;
                }
            }
            try {
                int[] ids = encoder.encodePrompt(first);
                out.add(java.util.Arrays.stream(ids).asLongStream().toArray());
            } catch (RejectedException e) {
                rejects.reject(new Reject(c.id(), e.reason(), e.getMessage(), c.source(), c.line()));
            }
        }
        return out;
    }

    /** Speculative decoding of every prompt with a fresh proposer each. */
    public static AcceptanceReport run(SpeculativeDecoder decoder, List<long[]> prompts, int maxNew, int k,
                                       Function<long[], Proposer> proposers) {
        AcceptanceReport report = new AcceptanceReport(k);
        for (long[] p : prompts) {
            try (Proposer proposer = proposers.apply(p)) {
                report.add(decoder.generate(p, maxNew, proposer));
            }
        }
        return report;
    }
}
