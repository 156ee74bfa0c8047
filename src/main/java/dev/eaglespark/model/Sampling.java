package dev.eaglespark.model;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * How the next token is chosen from fp32 logits: greedy (temperature 0), or sampled at a
 * temperature from the smallest set of tokens whose probability reaches top-p (the nucleus, in
 * descending probability, ties to the lower id). A draw costs a few passes over the vocabulary
 * and a sort of the tokens above a probability threshold only, not of the whole vocabulary
 * (128k tokens per row and token would cost far more than the target's decode step).
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
        // top-p 1 keeps every token, in id order: no sort
        int[] ids = topP == 1 ? IntStream.range(0, v).toArray() : nucleus(p, topP * sum);
        double kept = 0;
        for (int id : ids) {
            kept += p[id];
        }
        double u = random.nextDouble() * kept;
        for (int id : ids) {
            u -= p[id];
            if (u < 0) {
                return id;
            }
        }
        return ids[ids.length - 1];
    }

    /**
     * The nucleus of unnormalised probabilities {@code p} (largest 1): the shortest run of tokens
     * in descending probability (compared in float precision; ties to the lower id) whose mass
     * reaches {@code mass}. Only tokens at or above a threshold are sorted: the threshold falls
     * (1/2, 1/4, 1/16, ...) until the tokens above it hold the mass, so the nucleus lies among them.
     */
    static int[] nucleus(double[] p, double mass) {
        long[] keys = null;
        int n = 0;
        for (double t = 0.5; keys == null; t = t > 1e-300 ? t * t : 0) {
            double above = 0;
            n = 0;
            for (double q : p) {
                if (q >= t) {
                    above += q;
                    n++;
                }
            }
            if (above >= mass || t == 0) {
                keys = new long[n];
                int k = 0;
                for (int i = 0; i < p.length; i++) {
                    if (p[i] >= t) {
                        // ascending keys: float bits of p (monotonic for p >= 0), then the reversed id
                        keys[k++] = ((long) Float.floatToIntBits((float) p[i]) << 32) | (Integer.MAX_VALUE - i);
                    }
                }
            }
        }
        Arrays.sort(keys);
        int[] order = new int[n];
        double kept = 0;
        int size = 0;
        while (size < n && kept < mass) { // descending: from the end of the sorted keys
            int id = Integer.MAX_VALUE - (int) keys[n - 1 - size];
            order[size++] = id;
            kept += p[id];
        }
        return Arrays.copyOf(order, size);
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
