package dev.eaglespark.regen;

import dev.eaglespark.data.ChatTokenizer;
import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.Message;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.RejectReason;
import dev.eaglespark.data.RejectSink;
import dev.eaglespark.data.RejectedException;
import dev.eaglespark.data.Role;
import dev.eaglespark.data.SampleEncoder;
import dev.eaglespark.model.Generator;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Re-answers every user turn of a batch of conversations with the target, turn by turn: the
 * k-th answers of all conversations are generated together, each from its conversation so far
 * (system prompt, earlier user turns and the target's own earlier answers) through the chat
 * template's generation prompt. The original assistant turns are dropped.
 */
public final class Regenerator {
    private final Generator generator;
    private final SampleEncoder encoder;
    private final ChatTokenizer tokenizer;
    private final Set<Long> stops;
    private final RegenerateSettings settings;

    public Regenerator(Generator generator, SampleEncoder encoder, ChatTokenizer tokenizer, Set<Long> stops,
                       RegenerateSettings settings) {
        this.generator = generator;
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        this.stops = Set.copyOf(stops);
        this.settings = settings;
    }

    /** The conversations with new answers, in input order; failures go to {@code rejects}. */
    public List<Conversation> regenerate(List<Conversation> batch, RejectSink rejects) {
        List<State> states = new ArrayList<>();
        for (Conversation c : batch) {
            State s = new State(c);
            if (s.users.isEmpty()) {
                reject(rejects, s, RejectReason.ONE_SIDED, "no user turn to answer");
            }
            states.add(s);
        }
        for (int turn = 0; ; turn++) {
            List<State> active = new ArrayList<>();
            List<Generator.Request> requests = new ArrayList<>();
            for (State s : states) {
                if (s.failed || turn >= s.users.size()) {
                    continue;
                }
                s.messages.add(new Message(Role.USER, s.users.get(turn)));
                try {
                    int[] prompt = encoder.encodePrompt(s.messages);
                    requests.add(new Generator.Request(java.util.Arrays.stream(prompt).asLongStream().toArray(), settings.maxNewTokens(), settings.sampling(),
                            seed(s.conversation.id(), turn)));
                    active.add(s);
                } catch (RejectedException e) {
                    reject(rejects, s, e.reason(), "turn " + (turn + 1) + ": " + e.getMessage());
                }
            }
            if (active.isEmpty()) {
                break;
            }
            List<Generator.Result> results = generator.generate(requests);
            for (int i = 0; i < active.size(); i++) {
                active.get(i).messages.add(new Message(Role.ASSISTANT, answer(results.get(i).tokens())));
            }
        }
        List<Conversation> out = new ArrayList<>();
        for (State s : states) {
            if (!s.failed) {
                out.add(s.conversation.withMessages(s.messages));
            }
        }
        return out;
    }

    private String answer(long[] tokens) {
        int n = tokens.length;
        if (n > 0 && stops.contains(tokens[n - 1])) {
            n--;
        }
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) tokens[i];
        }
        return tokenizer.decodeText(ids).strip();
    }

    /** Per record and turn, so a record's answers do not depend on its batch or partition. */
    private long seed(String id, int turn) {
        return settings.seed() * 1_000_003L + id.hashCode() * 31L + turn;
    }

    private static void reject(RejectSink rejects, State s, RejectReason reason, String message) {
        s.failed = true;
        Conversation c = s.conversation;
        rejects.reject(new Reject(c.id(), reason, message, c.source(), c.line()));
    }

    /** One conversation's progress: its system prompt, user turns, and the messages so far. */
    private static final class State {
        final Conversation conversation;
        final List<String> users = new ArrayList<>();
        final List<Message> messages = new ArrayList<>();
        boolean failed;

        State(Conversation c) {
            this.conversation = c;
            for (Message m : c.messages()) {
                if (m.role() == Role.SYSTEM && messages.isEmpty() && users.isEmpty()) {
                    messages.add(m);
                } else if (m.role() == Role.USER) {
                    users.add(m.content());
                }
            }
        }
    }
}
