package dev.eaglespark.model;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Multi-turn work for a {@link ContinuousBatcher}, as {@code regenerate} asks: conversations of
 * {@link #TURNS} turns (a third greedy, the rest sampled at top-p 1 and 0.9), each turn's prompt the
 * previous prompt, its answer and 3 to 40 random new tokens, each next turn asked for as soon as
 * the previous one ends (ahead of new conversations). Shared by {@code ContinuousBatcherTest} (CPU)
 * and {@link GpuDecodeGraphCheck}.
 */
final class MultiTurnWork {
    static final int TURNS = 4;

    /** Every answer, conversation by conversation and turn by turn, and the run's counts. */
    record Turns(List<long[]> answers, ContinuousBatcher.Stats stats) {
        /** Answers that differ from {@code other}'s. */
        int differ(Turns other) {
            int n = 0;
            for (int i = 0; i < answers.size(); i++) {
                n += Arrays.equals(answers.get(i), other.answers.get(i)) ? 0 : 1;
            }
            return n;
        }
    }

    private MultiTurnWork() {}

    /** {@code conversations} conversations through {@code slots} slots, with or without prefix reuse. */
    static Turns run(TargetModel model, int conversations, int slots, boolean reuse) {
        long[][][] answers = new long[conversations][TURNS][];
        long[][] prompts = new long[conversations][];
        int[] turn = new int[conversations];
        Random random = new Random(11);
        long[][][] users = new long[conversations][TURNS][];
        for (long[][] conversation : users) {
            for (int t = 0; t < TURNS; t++) {
                conversation[t] = random.longs(3 + random.nextInt(38), 1, model.config().vocabSize()).toArray();
            }
        }
        Deque<Integer> next = new ArrayDeque<>();
        int[] started = {0};
        System.setProperty("eaglespark.prefix-reuse", Boolean.toString(reuse));
        try {
            ContinuousBatcher.Stats stats = new ContinuousBatcher(model, Set.of(), slots, 400,
                    ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                        @Override
                        public ContinuousBatcher.Job<Integer> next() {
                            Integer c = next.pollFirst();
                            if (c == null) {
                                if (started[0] == conversations) {
                                    return null;
                                }
                                c = started[0]++;
                                prompts[c] = new long[0];
                            }
                            int t = turn[c];
                            prompts[c] = concat(prompts[c], users[c][t]);
                            Sampling sampling = c % 3 == 0 ? Sampling.GREEDY : new Sampling(0.8, c % 3 == 1 ? 1.0 : 0.9);
                            return new ContinuousBatcher.Job<>(c, new Generator.Request(prompts[c], 5 + 4 * t, sampling,
                                    100L * c + t));
                        }

                        @Override
                        public void done(Integer c, Generator.Result result) {
                            answers[c][turn[c]] = result.tokens();
                            prompts[c] = concat(prompts[c], result.tokens());
                            if (++turn[c] < TURNS) {
                                next.addFirst(c);
                            }
                        }
                    });
            List<long[]> all = new ArrayList<>();
            for (long[][] conversation : answers) {
                all.addAll(Arrays.asList(conversation));
            }
            return new Turns(all, stats);
        } finally {
            System.clearProperty("eaglespark.prefix-reuse");
        }
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
