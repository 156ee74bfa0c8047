package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Top-p sampling draws from the right distribution, and its nucleus (found among the tokens
 * above a falling threshold) equals the one a sort of the whole vocabulary gives. Frequencies are
 * checked within 5 standard deviations over 200,000 seeded draws (deterministic: fixed seeds).
 */
class SamplingTest {
    private static final int DRAWS = 200_000;

    @Test
    void topPOneDrawsFromTheWholeSoftmax() {
        float[] logits = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f, 1.5f};
        double t = 0.7;
        double[] expected = softmax(logits, t);
        assertFrequencies(expected, counts(new Sampling(t, 1.0), logits));
    }

    @Test
    void topPDrawsFromTheNucleusOnly() {
        // probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.75 keeps the first two, renormalised
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        assertFrequencies(new double[] {0.625, 0.375, 0, 0}, counts(new Sampling(1.0, 0.75), logits));
    }

    @Test
    void aNucleusOfOneTokenTakesTheLowerIdOfATie() {
        float[] logits = {0f, 3f, 1f, 3f};
        assertEquals(1, new Sampling(1.5, 1e-9).pick(logits, new SplittableRandom(3)));
    }

    @Test
    void nucleusEqualsAFullSortOverALargeVocabulary() {
        Random r = new Random(5);
        double[] normal = new double[128_256];
        Arrays.setAll(normal, i -> Math.exp((r.nextGaussian() * 3 - 12) / 0.8));
        normal[17] = 1; // the largest, as the sampler scales it
        // one likely token and a long tail holding most of the mass: the threshold must fall several times
        double[] tail = new double[100_000];
        Arrays.setAll(tail, i -> i == 4 ? 1 : 1e-5 * (1 + (i % 7)));
        for (double[] p : new double[][] {normal, tail}) {
            double sum = Arrays.stream(p).sum();
            for (double topP : new double[] {1e-9, 0.3, 0.9, 0.99999}) {
                int[] nucleus = Sampling.nucleus(p, topP * sum);
                assertArrayEquals(fullSortNucleus(p, topP * sum), nucleus, "top-p " + topP);
                double kept = Arrays.stream(nucleus).mapToDouble(i -> p[i]).sum();
                assertTrue(kept >= topP * sum && kept - p[nucleus[nucleus.length - 1]] < topP * sum, "shortest");
            }
        }
    }

    /** The nucleus by sorting every token: descending float probability, ties to the lower id. */
    private static int[] fullSortNucleus(double[] p, double mass) {
        Integer[] order = IntStream.range(0, p.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -(float) p[i]).thenComparingInt(i -> i));
        double kept = 0;
        int n = 0;
        while (n < p.length && kept < mass) {
            kept += p[order[n++]];
        }
        return Arrays.stream(order, 0, n).mapToInt(Integer::intValue).toArray();
    }

    private static int[] counts(Sampling s, float[] logits) {
        int[] counts = new int[logits.length];
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < DRAWS; i++) {
            counts[(int) s.pick(logits, random)]++;
        }
        return counts;
    }

    private static void assertFrequencies(double[] expected, int[] counts) {
        for (int i = 0; i < expected.length; i++) {
            double sd = Math.sqrt(expected[i] * (1 - expected[i]) / DRAWS);
            double got = counts[i] / (double) DRAWS;
            assertEquals(expected[i], got, 5 * sd + 1e-12, "token " + i + " of " + Arrays.toString(counts));
        }
    }

    private static double[] softmax(float[] logits, double t) {
        double[] e = new double[logits.length];
        Arrays.setAll(e, i -> Math.exp(logits[i] / t));
        double sum = Arrays.stream(e).sum();
        return Arrays.stream(e).map(x -> x / sum).toArray();
    }
}
