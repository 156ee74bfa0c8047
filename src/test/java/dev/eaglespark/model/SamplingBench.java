package dev.eaglespark.model;

import java.util.Random;
import java.util.SplittableRandom;

/**
 * Host time of one top-p draw over a Llama-3-sized vocabulary (128,256 logits, normal with
 * standard deviation 3, temperature 0.7): what `regenerate` with sampling spends per row and
 * generated token besides the target's forward. A program, not a test (CI runs no timings):
 * java -cp target/test-classes:target/classes dev.eaglespark.model.SamplingBench
 */
public final class SamplingBench {
    private SamplingBench() {}

    public static void main(String[] args) {
        Random r = new Random(1);
        float[] logits = new float[128_256];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 3);
        }
        int draws = 50;
        for (double topP : new double[] {1.0, 0.9}) {
            Sampling s = new Sampling(0.7, topP);
            for (int round = 0; round < 3; round++) { // the first round includes the JIT's warm-up
                long start = System.nanoTime();
                for (int i = 0; i < draws; i++) {
                    s.pick(logits, new SplittableRandom(i));
                }
                System.out.printf("top-p %.1f, round %d: %.2f ms per draw%n", topP, round + 1,
                        (System.nanoTime() - start) / 1e6 / draws);
            }
        }
    }
}
