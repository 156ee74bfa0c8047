package dev.eaglespark.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * How the next token is chosen from fp32 logits: greedy (temperature 0), or sampled at a
 * temperature from the smallest set of tokens whose probability reaches top-p.
 */
public record Sampling(double temperature, double topP) {
    public static final Sampling GREEDY = new Sampling(0, 1);

    public Sampling {
        if (temperature < 0 || !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("temperature must be >= 0 and top-p in (0, 1], got "
                    + temperature + ", " + topP);
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }

    /** Picks a token from one row of logits; {@code random} is the row's own stream. */
    public long pick(float[] logits, SplittableRandom random) {
        if (greedy()) {
            return argmax(logits);
        }
        int v = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) {
            order[i] = i;
        }
        // Descending probability; ties by lower id so the nucleus is deterministic.
        double[] probs = p;
        Arrays.sort(order, (a, b) -> probs[a] != probs[b] ? Double.compare(probs[b], probs[a]) : Integer.compare(a, b));
        double kept = 0;
        int n = 0;
        while (n < v && kept < topP * sum) {
            kept += p[order[n++]];
        }
        double u = random.nextDouble() * kept;
        for (int i = 0; i < n; i++) {
            u -= p[order[i]];
            if (u < 0) {
                return order[i];
            }
        }
        return order[n - 1];
    }

    public static long argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
