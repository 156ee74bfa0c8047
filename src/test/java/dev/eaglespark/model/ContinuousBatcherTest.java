package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.eaglespark.testutil.Fixtures;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * How {@link ContinuousBatcher} groups admitted prompts into prefill calls, and how a slot's
 * cached prefix serves the next turn of the same conversation.
 */
class ContinuousBatcherTest {
    /**
     * 64 prompts admitted at once, 250 and 10 tokens in turn: in admission order each call of at
     * most 8,192 positions would pad half its rows from 10 to 250 tokens (2 calls, 16,000
     * positions); by length, the short prompts share one call and the long ones another, with no
     * padding at all.
     */
    @Test
    void admittedPromptsArePrefilledByLength() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            int rows = 64;
            ContinuousBatcher.Stats stats = new ContinuousBatcher(model, Set.of(), rows, 251,
                    ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                        int given;

                        @Override
                        public ContinuousBatcher.Job<Integer> next() {
                            if (given == rows) {
                                return null;
                            }
                            long[] prompt = new long[given % 2 == 0 ? 250 : 10];
                            Arrays.fill(prompt, 7 + given);
                            return new ContinuousBatcher.Job<>(given++, Generator.Request.greedy(prompt, 1));
                        }

                        @Override
                        public void done(Integer tag, Generator.Result result) {
                            assertEquals(1, result.tokens().length, "the one token comes from the prefill");
                        }
                    });
            assertEquals(32 * 250 + 32 * 10, stats.prefilled());
            assertEquals(stats.prefilled(), stats.prefillPositions(), "no padding: " + stats.format());
            assertEquals(2, stats.prefills(), stats.format());
        }
    }

    /**
     * Stats count the answers that ended at a stop token: 6 greedy prompts run to 20 tokens with no
     * stop token, then again with one of the first answer's tokens as the stop token, which ends
     * every answer that holds it there and no other.
     */
    @Test
    void answersEndedAtAStopTokenAreCounted() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            Answers free = greedy(model, Set.of());
            long stop = free.results()[0].tokens()[4];
            Answers ended = greedy(model, Set.of(stop));
            int expected = 0;
            for (int i = 0; i < free.results().length; i++) {
                long[] t = free.results()[i].tokens();
                int at = (int) LongStream.range(0, t.length).filter(j -> t[(int) j] == stop).findFirst().orElse(-1);
                assertEquals(at >= 0, ended.results()[i].stopped(), "answer " + i);
                assertArrayEquals(at >= 0 ? Arrays.copyOf(t, at + 1) : t, ended.results()[i].tokens(), "answer " + i);
                expected += at >= 0 ? 1 : 0;
            }
            assertEquals(0, free.stats().stopped(), "no stop token, no answer stopped: " + free.stats().format());
            assertTrue(expected >= 1);
            assertEquals(expected, ended.stats().stopped(), ended.stats().format());
        }
    }

    private record Answers(Generator.Result[] results, ContinuousBatcher.Stats stats) {}

    /** 6 prompts of 7 to 12 tokens through 2 slots, greedy, 20 new tokens each. */
    private static Answers greedy(TargetModel model, Set<Long> stops) {
        Generator.Result[] out = new Generator.Result[6];
        ContinuousBatcher.Stats stats = new ContinuousBatcher(model, stops, 2, 40,
                ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                    int given;

                    @Override
                    public ContinuousBatcher.Job<Integer> next() {
                        if (given == out.length) {
                            return null;
                        }
                        long[] prompt = new Random(given).longs(7 + given, 3, 1000).toArray();
                        return new ContinuousBatcher.Job<>(given++, Generator.Request.greedy(prompt, 20));
                    }

                    @Override
                    public void done(Integer tag, Generator.Result result) {
                        out[tag] = result;
                    }
                });
        return new Answers(out, stats);
    }

    /**
     * 8 conversations of 4 turns (a third greedy, the rest sampled at top-p 1 and 0.9), each turn's
     * prompt the previous prompt, its answer and 3 to 40 new tokens: with prefix reuse (each next
     * turn extends what its slot holds) every answer is the one of whole prefills, through 3 slots
     * and through 1, and the prompt tokens computed are fewer by exactly the positions kept.
     */
    @Test
    void aNextTurnKeepsItsSlotsPrefixAndAnswersAsAWholePrefillDoes() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            MultiTurnWork.Turns whole = MultiTurnWork.run(model, 8, 3, false);
            MultiTurnWork.Turns reused = MultiTurnWork.run(model, 8, 3, true);
            MultiTurnWork.Turns alone = MultiTurnWork.run(model, 8, 1, true);
            assertEquals(0, whole.differ(reused), "3 slots with reuse against whole prefills");
            assertEquals(0, whole.differ(alone), "1 slot with reuse against whole prefills");
            assertEquals(8 * MultiTurnWork.TURNS, whole.answers().size());
            assertEquals(0, whole.stats().reused(), whole.stats().format());
            assertTrue(reused.stats().reused() > reused.stats().prefilled(), "most of each next prompt is kept: "
                    + reused.stats().format());
            assertEquals(whole.stats().prefilled(), reused.stats().prefilled() + reused.stats().reused(),
                    "every prompt token is either computed or kept");
            assertEquals(whole.stats().prefilled(), alone.stats().prefilled() + alone.stats().reused());
            assertEquals(alone.stats().steps(), alone.stats().computedRows(), "one slot: one row a step");
            assertTrue(reused.stats().computedRows() >= reused.stats().rowSteps(), reused.stats().format());
        }
    }

    /**
     * A slot that holds a prefix while it is free still computes in the decode steps of the rows
     * after it: its writes must spare what it holds. Conversation 0's second turn is asked for only
     * after conversation 1's long answer ends, 40 steps in which slot 0 is free; the turn's answer
     * is the one of a whole prefill.
     */
    @Test
    void aFreeSlotsStepsSpareThePrefixItHolds() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            assertSameAnswers(lateTurn(model, false, 40, 0), lateTurn(model, true, 40, 0));
        }
    }

    /**
     * A continuing request whose slot is above a free one moves down with its prefix: conversations
     * 0 and 1 end together, and conversation 1's next turn takes slot 0 (conversation 0's) with
     * slot 1's kept positions; its answer is the one of a whole prefill.
     */
    @Test
    void aContinuingRowMovesDownWithItsPrefix() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            assertSameAnswers(lateTurn(model, false, 2, 1), lateTurn(model, true, 2, 1));
        }
    }

    private static void assertSameAnswers(long[][] expected, long[][] got) {
        assertEquals(3, got.length);
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], got[i], "answer " + i);
        }
    }

    /**
     * Through 2 slots, answers of: conversation 0 (2 tokens, in slot 0), conversation 1 (another
     * prompt, {@code second} tokens, slot 1), then, once both ended, conversation {@code next}'s
     * next turn (its prompt, its answer and 3 tokens).
     */
    private static long[][] lateTurn(TargetModel model, boolean reuse, int second, int next) {
        Random random = new Random(3);
        long[][] firsts = {random.longs(30, 1, model.config().vocabSize()).toArray(),
                random.longs(24, 1, model.config().vocabSize()).toArray()};
        long[][] answers = new long[3][];
        int[] done = {0};
        System.setProperty("eaglespark.prefix-reuse", Boolean.toString(reuse));
        try {
            ContinuousBatcher.Stats stats = new ContinuousBatcher(model, Set.of(), 2, 200,
                    ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                        int asked;

                        @Override
                        public ContinuousBatcher.Job<Integer> next() {
                            if (asked == 0 || asked == 1) {
                                int c = asked++;
                                return new ContinuousBatcher.Job<>(c, Generator.Request.greedy(firsts[c],
                                        c == 0 ? 2 : second));
                            }
                            if (asked == 2 && done[0] == 2) { // both answered: one conversation goes on
                                asked++;
                                long[] prompt = LongStream.concat(LongStream.concat(Arrays.stream(firsts[next]),
                                        Arrays.stream(answers[next])), LongStream.of(9, 10, 11)).toArray();
                                return new ContinuousBatcher.Job<>(next, Generator.Request.greedy(prompt, 8));
                            }
                            return null;
                        }

                        @Override
                        public void done(Integer c, Generator.Result result) {
                            answers[done[0]++ < 2 ? c : 2] = result.tokens();
                        }
                    });
            assertEquals(reuse ? firsts[next].length : 0, stats.reused(), "the first prompt (the first answer token "
                    + "sits at the last cached position, never kept): " + stats.format());
            return answers;
        } finally {
            System.clearProperty("eaglespark.prefix-reuse");
        }
    }

    /** A request of another tag never takes a slot's prefix, however much its prompt shares. */
    @Test
    void aPrefixServesOnlyTheSameTag() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            long[] prompt = LongStream.range(1, 60).toArray();
            Deque<ContinuousBatcher.Job<Integer>> jobs = new ArrayDeque<>(List.of(
                    new ContinuousBatcher.Job<>(1, Generator.Request.greedy(prompt, 4)),
                    new ContinuousBatcher.Job<>(2, Generator.Request.greedy(Arrays.copyOf(prompt, 70), 4)),
                    new ContinuousBatcher.Job<>(1, Generator.Request.greedy(Arrays.copyOf(prompt, 80), 4))));
            ContinuousBatcher.Stats stats = new ContinuousBatcher(model, Set.of(), 1, 100,
                    ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                        @Override
                        public ContinuousBatcher.Job<Integer> next() {
                            return jobs.pollFirst();
                        }

                        @Override
                        public void done(Integer tag, Generator.Result result) {}
                    });
            assertEquals(0, stats.reused(), "tag 1's slot was last tag 2's: " + stats.format());
            assertEquals(59 + 70 + 80, stats.prefilled());
        }
    }

    @Test
    void prefixReuseIsOnByDefaultOnTheCpuAndFollowsTheSetting() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            assertTrue(ContinuousBatcher.reuses(model));
            System.setProperty("eaglespark.prefix-reuse", "false");
            try {
                assertTrue(!ContinuousBatcher.reuses(model));
            } finally {
                System.clearProperty("eaglespark.prefix-reuse");
            }
        }
    }

    @Test
    void aSharedPrefixStopsShortOfTheLastCachedAndTheLastPromptPosition() {
        long[] cached = {5, 6, 7, 8};
        assertEquals(3, SlotPrefixes.shared(cached, new long[] {5, 6, 7, 8, 9}), "the last cached position is not kept");
        assertEquals(2, SlotPrefixes.shared(cached, new long[] {5, 6, 7}), "one prompt position is computed");
        assertEquals(1, SlotPrefixes.shared(cached, new long[] {5, 9, 7, 8, 9}));
        assertEquals(0, SlotPrefixes.shared(cached, new long[] {4, 6}));
    }
}
