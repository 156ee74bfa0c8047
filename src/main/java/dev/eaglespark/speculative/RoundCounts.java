package dev.eaglespark.speculative;

/**
 * The one definition of acceptance that evaluate and training's validation share: over
 * verification rounds, tau = tokens per round (accepted drafts plus the target's bonus token)
 * and, per draft position j, the rounds that accepted it over those that reached it (positions
 * 0..j-1 accepted). Counts, so that ranks can sum them.
 */
public final class RoundCounts {
    private final int k;
    private final long[] reached;
    private final long[] accepted;
    private long rounds;
    private long acceptedTotal;

    /** @param k the chain's length: the draft positions counted */
    public RoundCounts(int k) {
        this.k = k;
        this.reached = new long[k];
        this.accepted = new long[k];
    }

    /**
     * A round that accepted {@code a} drafts of which the first {@code checked} (at most k) had
     * a token to check: positions past it are not reached (a round cut by the text's end).
     */
    public void add(int a, int checked) {
        rounds++;
        acceptedTotal += a;
        for (int j = 0; j < Math.min(k, checked) && j <= a; j++) {
            reached[j]++;
            if (j < a) {
                accepted[j]++;
            }
        }
    }

    public long rounds() {
        return rounds;
    }

    public double tau() {
        return rounds == 0 ? 0 : 1 + (double) acceptedTotal / rounds;
    }

    public double[] perPosition() {
        return perPosition(toArray(), 0, k);
    }

    /** rounds, accepted drafts, then reached and accepted per position: to be summed over ranks. */
    public double[] toArray() {
        double[] out = new double[length(k)];
        out[0] = rounds;
        out[1] = acceptedTotal;
        for (int j = 0; j < k; j++) {
            out[2 + j] = reached[j];
            out[2 + k + j] = accepted[j];
        }
        return out;
    }

    /** Size of {@link #toArray} for a chain of {@code k}. */
    public static int length(int k) {
        return 2 + 2 * k;
    }

    /** tau of (summed) counts laid out as {@link #toArray}, from {@code offset}. */
    public static double tau(double[] counts, int offset) {
        return counts[offset] == 0 ? 0 : 1 + counts[offset + 1] / counts[offset];
    }

    /** Acceptance per position of (summed) counts laid out as {@link #toArray}, from {@code offset}. */
    public static double[] perPosition(double[] counts, int offset, int k) {
        double[] out = new double[k];
        for (int j = 0; j < k; j++) {
            double reachedJ = counts[offset + 2 + j];
            out[j] = reachedJ == 0 ? 0 : counts[offset + 2 + k + j] / reachedJ;
        }
        return out;
    }
}
