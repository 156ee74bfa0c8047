package dev.eaglespark.speculative;

import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.Message;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.RejectSink;
import dev.eaglespark.data.RejectedException;
import dev.eaglespark.data.Role;
import dev.eaglespark.data.SampleEncoder;
import dev.eaglespark.model.Generator;
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

    /**
     * Speculative decoding of every prompt with a fresh proposer each, timed (proposer set-up
     * included); each prompt's generated tokens are added to {@code outputs}.
     */
    public static AcceptanceReport run(SpeculativeDecoder decoder, List<long[]> prompts, int maxNew, int k,
                                       Function<long[], Proposer> proposers, List<long[]> outputs) {
        AcceptanceReport report = new AcceptanceReport(k);
        for (long[] p : prompts) {
            long start = System.nanoTime();
            try (Proposer proposer = proposers.apply(p)) {
                SpeculativeDecoder.Result r = decoder.generate(p, maxNew, proposer);
                report.add(r, (System.nanoTime() - start) / 1e9);
                outputs.add(r.tokens());
            }
        }
        return report;
    }

    /** Plain decoding of the same prompts, what speculative decoding is timed against. */
    public record Plain(List<long[]> outputs, long tokens, double seconds) {
        public double tokensPerSecond() {
            return tokens / seconds;
        }

        /** Prompts whose output differs from {@code other}'s (greedy decoding gives equal outputs up to ties). */
        public int mismatches(List<long[]> other) {
            int n = 0;
            for (int i = 0; i < outputs.size(); i++) {
                n += java.util.Arrays.equals(outputs.get(i), other.get(i)) ? 0 : 1;
            }
            return n;
        }
    }

    /**
     * Greedy decoding of every prompt by the target alone, one prompt at a time and one token per
     * forward through its KV cache (the generation regenerate runs), to the same stop tokens and
     * length cap as speculative decoding, timed.
     */
    public static Plain plain(Generator generator, List<long[]> prompts, int maxNew) {
        List<long[]> outputs = new ArrayList<>();
        long tokens = 0;
        long start = System.nanoTime();
        for (long[] p : prompts) {
            long[] out = generator.generate(List.of(Generator.Request.greedy(p, maxNew))).get(0).tokens();
            outputs.add(out);
            tokens += out.length;
        }
        return new Plain(outputs, tokens, (System.nanoTime() - start) / 1e9);
    }
}
