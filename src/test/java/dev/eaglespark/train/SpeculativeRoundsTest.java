package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The round simulation on hand-made hits (chain of 3, rows of one padded batch), each count worked
 * out below: rounds that start after a rejection, a fully accepted chain, an answer shorter than
 * the chain, a multi-turn row, a one-token answer, and hits where no round starts, which must not
 * count. Exact counts: no tolerance.
 */
class SpeculativeRoundsTest {
    private static final int CHAIN = 3;
    private static final int LENGTH = 14;

    /**
     * Hits of a batch of {@link #LENGTH} positions: {@code rows[r][t]} is position t's steps as
     * "TTF" (step 0 right, step 1 right, step 2 wrong); missing positions are all wrong.
     */
    private static StepHits hits(String[]... rows) {
        boolean[] h = new boolean[rows.length * LENGTH * CHAIN];
        for (int r = 0; r < rows.length; r++) {
            for (int t = 0; t < rows[r].length; t++) {
                for (int k = 0; k < rows[r][t].length(); k++) {
                    h[(r * LENGTH + t) * CHAIN + k] = rows[r][t].charAt(k) == 'T';
                }
            }
        }
        return new StepHits(h, LENGTH, CHAIN);
    }

    private static byte[] mask(String bits) {
        byte[] m = new byte[bits.length()];
        for (int i = 0; i < m.length; i++) {
            m[i] = (byte) (bits.charAt(i) - '0');
        }
        return m;
    }

    private static void assertCounts(SpeculativeRounds rounds, long n, double tau, double[] acceptance) {
        SpeculativeRounds.Result r = rounds.result();
        assertEquals(n, r.rounds(), "rounds");
        assertEquals(tau, r.tau(), 1e-15, "tau");
        assertArrayEquals(acceptance, r.acceptance(), 1e-15, "acceptance by position");
    }

    /**
     * Prompt 0..2, answer 3..12 (P = 3, E = 12). Rounds: s = 2 (hits TTF: 2 accepted) -> s = 5
     * (FTT: 0, a rejection at once) -> s = 6 (TTT: the full chain) -> s = 10, where only step 0
     * has a token (10 + 2 = 12 = E), accepted -> s = 12, no token left. 4 rounds, 2 + 0 + 3 + 1 =
     * 6 accepted: tau 2.5; position 0 reached by 4 rounds, accepted by 3; position 1 reached 2,
     * accepted 2; position 2 reached 2 (s = 2 and 6), accepted 1. Positions 1 (prompt), 3, 4, 7,
     * 8, 9 and 11 hold hits no round starts from.
     */
    @Test
    void roundsStartAfterEachRejectionAndTheLastIsCutByTheAnswersEnd() {
        SpeculativeRounds rounds = new SpeculativeRounds(CHAIN);
        rounds.addRow(mask("0001111111111"), hits(new String[] {"", "TTT", "TTF", "TTT", "TTT", "FTT", "TTT",
            "TTT", "TTT", "TTT", "TTT", "TTT"}), 0);
        assertCounts(rounds, 4, 2.5, new double[] {0.75, 1.0, 0.5});
    }

    /**
     * Answer 2..4 (E = 4), shorter than the chain: the round at s = 1 has tokens for steps 0 and 1
     * only (s + j + 2 <= 4); both right, so 2 accepted, position 2 never reached; s = 4 ends it.
     */
    @Test
    void anAnswerShorterThanTheChainCountsTheStepsThatHadATokenOnly() {
        SpeculativeRounds rounds = new SpeculativeRounds(CHAIN);
        rounds.addRow(mask("00111"), hits(new String[] {"TTT", "TTT", "TTT", "TTT", "TTT"}), 0);
        assertCounts(rounds, 1, 3.0, new double[] {1.0, 1.0, 0.0});
    }

    /**
     * Answer 1..10, every step right: s = 0 (3 accepted) -> s = 4 (3) -> s = 8 (one step has a
     * token: 1) -> s = 10 ends. 3 rounds, 7 accepted: tau 1 + 7/3; every position accepted
     * whenever reached (3, 2 and 2 times).
     */
    @Test
    void aRowWhoseEveryStepIsRightIsAcceptedWheneverReached() {
        SpeculativeRounds rounds = new SpeculativeRounds(CHAIN);
        String[] all = new String[LENGTH];
        java.util.Arrays.fill(all, "TTT");
        rounds.addRow(mask("01111111111"), hits(all), 0);
        assertCounts(rounds, 3, 1 + 7.0 / 3, new double[] {1.0, 1.0, 1.0});
        assertArrayEquals(new double[] {3, 7, 3, 2, 2, 3, 2, 2}, rounds.counts(), 0);
    }

    /**
     * A batch of three rows, walked in one accumulator: row 0 a two-turn conversation, answers
     * 1..3 and 6..9; row 1 a one-token answer (its first token ends the generation: no round);
     * row 2 the first test's row. Row 0, first answer: s = 0 (F: 0) -> s = 1 (one step has a
     * token, T: 1) -> s = 3 ends; second answer from s = 5: TFT (1) -> s = 7 (one step, F: 0)
     * -> s = 8 ends. So 4 rounds and 2 accepted from row 0, none from row 1, and row 2's 4 and 6:
     * 8 rounds, tau 1 + 8/8 = 2; position 0 reached 8, accepted 2 + 3; position 1 reached 1 + 2,
     * accepted 0 + 2; position 2 reached 0 + 2, accepted 1. Summing two accumulators' counts
     * (two ranks) gives the same.
     */
    @Test
    void multiTurnRowsAndBatchesAndRanksAddUp() {
        StepHits batch = hits(new String[] {"FTT", "TTT", "TTT", "TTT", "TTT", "TFT", "TTT", "FTT", "TTT", "TTT"},
                new String[] {"TTT", "TTT", "TTT"},
                new String[] {"", "TTT", "TTF", "TTT", "TTT", "FTT", "TTT", "TTT", "TTT", "TTT", "TTT", "TTT"});
        byte[][] masks = {mask("0111001111"), mask("01"), mask("0001111111111")};
        SpeculativeRounds one = new SpeculativeRounds(CHAIN);
        SpeculativeRounds rank0 = new SpeculativeRounds(CHAIN);
        SpeculativeRounds rank1 = new SpeculativeRounds(CHAIN);
        for (int r = 0; r < 3; r++) {
            one.addRow(masks[r], batch, r);
            (r == 1 ? rank1 : rank0).addRow(masks[r], batch, r);
        }
        assertCounts(one, 8, 2.0, new double[] {5.0 / 8, 2.0 / 3, 0.5});
        double[] summed = rank0.counts();
        double[] other = rank1.counts();
        for (int i = 0; i < summed.length; i++) {
            summed[i] += other[i];
        }
        SpeculativeRounds.Result r = SpeculativeRounds.of(summed, 0, CHAIN);
        assertEquals(8, r.rounds());
        assertArrayEquals(one.result().acceptance(), r.acceptance(), 0);
        assertEquals(one.result().tau(), r.tau(), 0);
    }
}
