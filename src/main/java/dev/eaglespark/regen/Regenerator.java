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
import dev.eaglespark.model.ContinuousBatcher;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.SlotCache;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Re-answers every user turn of conversations with the target, each from its conversation so far
 * (system prompt, earlier user turns and the target's own earlier answers) through the chat
 * template's generation prompt; the original assistant turns are dropped. Turns are decoded with
 * continuous batching ({@link ContinuousBatcher}): when a row ends, its conversation's next turn
 * takes a slot (ahead of new conversations, so conversations finish in about input order and
 * few are held at once; with the conversation so far that its slot holds already, so only the
 * new part is computed), else the next conversation's first turn. Each record and turn samples
 * with its own seed, so answers do not depend on the slots, the partition or the other records.
 */
public final class Regenerator {
    private static final Logger LOG = LogManager.getLogger(Regenerator.class);
    /** Slots on the CPU when the settings give none. */
    static final int CPU_SLOTS = 16;
    /** Most slots sized from free GPU memory (384 rows gave 2.5% more tokens/s than 256 at 8B: docs/BENCHMARKS.md). */
    static final int MAX_SLOTS = 256;

    private final TargetModel model;
    private final SampleEncoder encoder;
    private final ChatTokenizer tokenizer;
    private final Set<Long> stops;
    private final RegenerateSettings settings;
    private ContinuousBatcher.Stats lastStats;

    public Regenerator(TargetModel model, SampleEncoder encoder, ChatTokenizer tokenizer, Set<Long> stops,
                       RegenerateSettings settings) {
        this.model = model;
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        this.stops = Set.copyOf(stops);
        this.settings = settings;
    }

    /** The conversations with new answers, in input order; failures go to {@code rejects}. */
    public List<Conversation> regenerate(List<Conversation> batch, RejectSink rejects) {
        return regenerate(batch.iterator(), rejects);
    }

    /**
     * Every conversation of {@code input} (read as slots free up) with new answers, in input
     * order; failures go to {@code rejects}.
     */
    public List<Conversation> regenerate(Iterator<Conversation> input, RejectSink rejects) {
        List<State> states = new ArrayList<>();
        Deque<State> nextTurns = new ArrayDeque<>();
        long positions = (long) settings.maxPromptTokens() + Math.max(0, settings.maxNewTokens() - 1);
        int slots = slots(positions);
        ContinuousBatcher batcher = new ContinuousBatcher(model, stops, slots, positions,
                ContinuousBatcher.Admission.CONTINUOUS);
        lastStats = batcher.run(new ContinuousBatcher.Work<State>() {
            @Override
            public ContinuousBatcher.Job<State> next() {
                while (true) {
                    State s = nextTurns.pollFirst();
                    if (s == null) {
                        if (!input.hasNext()) {
                            return null;
                        }
                        s = new State(input.next());
                        states.add(s);
                        if (s.users.isEmpty()) {
                            reject(rejects, s, RejectReason.ONE_SIDED, "no user turn to answer");
                            continue;
                        }
                    }
                    ContinuousBatcher.Job<State> job = turn(s, rejects);
                    if (job != null) {
                        return job;
                    }
                }
            }

            @Override
            public void done(State s, Generator.Result result) {
                s.messages.add(new Message(Role.ASSISTANT, answer(result.tokens())));
                if (s.turn < s.users.size()) {
                    nextTurns.addFirst(s);
                }
            }
        });
        LOG.info("regenerate: {}", lastStats.format());
        List<Conversation> out = new ArrayList<>();
        for (State s : states) {
            if (!s.failed) {
                out.add(s.conversation.withMessages(s.messages));
            }
        }
        return out;
    }

    /** What the last {@link #regenerate} did: tokens, steps, seconds. */
    public ContinuousBatcher.Stats lastStats() {
        return lastStats;
    }

    /** The next user turn of {@code s} as a request, or null when its prompt is rejected. */
    private ContinuousBatcher.Job<State> turn(State s, RejectSink rejects) {
        int turn = s.turn++;
        s.messages.add(new Message(Role.USER, s.users.get(turn)));
        try {
            long[] prompt = Arrays.stream(encoder.encodePrompt(s.messages)).asLongStream().toArray();
            return new ContinuousBatcher.Job<>(s, new Generator.Request(prompt, settings.maxNewTokens(),
                    settings.sampling(), seed(s.conversation.id(), turn)));
        } catch (RejectedException e) {
            reject(rejects, s, e.reason(), "turn " + (turn + 1) + ": " + e.getMessage());
            return null;
        }
    }

    /**
     * The settings' batch size, or on a GPU as many slots of {@code positions} as its free memory
     * holds (at most {@link #MAX_SLOTS}), on the CPU {@link #CPU_SLOTS}.
     */
    private int slots(long positions) {
        if (settings.batchSize() > 0) {
            return settings.batchSize();
        }
        if (!model.device().isGpu()) {
            return CPU_SLOTS;
        }
        var memory = ai.djl.util.cuda.CudaUtils.getGpuMemory(model.device());
        int slots = SlotCache.slotsFitting(memory.getMax() - memory.getCommitted(), model.config(), model.dtype(),
                positions, ContinuousBatcher.PREFILL_TOKENS, MAX_SLOTS);
        LOG.info("regenerate: {} slots of {} positions from {} MiB of free GPU memory", slots, positions,
                (memory.getMax() - memory.getCommitted()) >> 20);
        return slots;
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
        int turn;
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
