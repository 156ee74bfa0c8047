package dev.eaglespark.train;

import dev.eaglespark.speculative.RoundCounts;

/**
 * Greedy speculative decoding simulated on teacher-forced hits ({@link StepHits}): the quantity
 * {@code evaluate} measures, on rows whose answers are the target's own greedy ones. TTT step j
 * at position s sees what the inference chain's step j after s sees (the target's states up to
 * s, the text's tokens s+1..s+1+j: the drafts, when steps 0..j-1 were accepted), so walking a row
 * in rounds reproduces the chain's acceptances on that text.
 *
 * <p>Positions by the stored loss mask (the answer tokens), whatever the training's alignment:
 * for each answer, tokens P..E, the first round starts at draft position s = P - 1, where
 * {@code SpeculativeDecoder} starts after the prompt's prefill (the target's states up to P - 1,
 * its own first token P). A round at s drafts tokens s+2, s+3, ... (step j: token s+j+2, hit
 * {@code at(row, s, j)}); step j is accepted when it is right and steps 0..j-1 were; at most
 * {@code chain} steps, and only those whose token lies within the answer (s+j+2 <= E: a round
 * cut by the answer's end counts the steps that had a token to check). The next round starts at
 * s + accepted + 1, after the target's bonus token. A round starts only while its first draft
 * has a token (s + 2 <= E): the token E ends the generation, as the stop token or length cap
 * ends {@code evaluate}'s. Each answer of a multi-turn row is walked on its own.
 *
 * <p>Counted by {@link RoundCounts}, as {@code evaluate} counts: per position j the rounds that reached it
 * (positions 0..j-1 accepted) and those that accepted it; tau = 1 + accepted drafts per round.
 */
final class SpeculativeRounds {
    private final int chain;
    private final RoundCounts counts;

    SpeculativeRounds(int chain) {
        this.chain = chain;
        this.counts = new RoundCounts(chain);
    }

    /** Walks row {@code row} of {@code hits}, whose stored loss mask is {@code lossMask} (the row's length). */
    void addRow(byte[] lossMask, StepHits hits, int row) {
        if (lossMask.length > hits.length()) {
            throw new IllegalArgumentException("a row of " + lossMask.length + " tokens in a batch of " + hits.length());
        }
        int n = lossMask.length;
        for (int p = 0; p < n; p++) {
            if (lossMask[p] == 0 || p > 0 && lossMask[p - 1] != 0) {
                continue; // not the first token of an answer
            }
            int e = p;
            while (e + 1 < n && lossMask[e + 1] != 0) {
                e++;
            }
            walk(hits, row, Math.max(p - 1, 0), e);
        }
    }

    /** The rounds of one answer whose last token is {@code end}, the first from draft position {@code start}. */
    private void walk(StepHits hits, int row, int start, int end) {
        for (int s = start; s + 2 <= end; ) {
            int scored = Math.min(chain, end - s - 1); // steps j with s + j + 2 <= end
            int a = 0;
            while (a < scored && hits.at(row, s, a)) {
                a++;
            }
            counts.add(a, scored);
            s += a + 1;
        }
    }

    /** The counts, to be summed over ranks: rounds, accepted drafts, then reached and accepted per position. */
    double[] counts() {
        return counts.toArray();
    }

    /** Size of {@link #counts} for a chain of {@code chain} drafts. */
    static int countsLength(int chain) {
        return RoundCounts.length(chain);
    }

    /** What (summed) counts say, from {@code offset} of {@code counts}. */
    static Result of(double[] counts, int offset, int chain) {
        return new Result((long) counts[offset], RoundCounts.tau(counts, offset),
                RoundCounts.perPosition(counts, offset, chain));
    }

    Result result() {
        return of(counts(), 0, chain);
    }

    /** Rounds simulated, tokens per round (bonus included) and the acceptance at each draft position. */
    record Result(long rounds, double tau, double[] acceptance) {}
}
