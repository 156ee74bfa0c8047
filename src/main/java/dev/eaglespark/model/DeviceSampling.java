package dev.eaglespark.model;

import java.util.SplittableRandom;

/**
 * The next token picked on the device, from the fp32 logits [B, V] of a step: only the B chosen
 * ids come back to the host, never the logits. The rule, per row:
 * <ul>
 *   <li>temperature 0: greedy, the arg max (ties to the lower id), as {@link Sampling#argmax};</li>
 *   <li>otherwise p = softmax(logits / temperature) and a uniform u in [0, 1) from the host,
 *       drawn from the row's own stream ({@link #row}: one draw per token, a stream per request
 *       seed; in {@code regenerate} a seed per record and turn), so the pick is a function of
 *       (seed, record, turn, step) alone, whatever else shares the batch;</li>
 *   <li>top-p 1: inverse CDF over every token in id order, the first id whose cumulative
 *       probability exceeds u (the host sampler's order too);</li>
 *   <li>top-p below 1: the tokens sorted by descending probability (a stable sort: ties to the
 *       lower id), the nucleus the shortest prefix whose mass reaches top-p (a token is in when
 *       the mass before it is below top-p), and the first token of it whose cumulative
 *       probability exceeds u times the nucleus's mass: never a token outside the nucleus.</li>
 * </ul>
 * The TorchScript method {@code pick} of {@link DecodeScript} ({@code scripts/model/pick.torchscript})
 * applies it: the host sampler's rule ({@link Sampling#pick}) in fp32 sums instead of fp64, so
 * the two agree in distribution (tested) and on nearly every draw. The sort runs only when a row of
 * the step has top-p below 1; a row's path depends only on its own settings.
 */
public final class DeviceSampling {
    /** Columns of the per-row sampling input [B, 3]. */
    static final int COLUMNS = 3;

    private DeviceSampling() {}

    /**
     * Row {@code r}'s temperature, top-p and uniform draw into {@code out} [B * 3]; a greedy row
     * draws nothing from its stream.
     */
    static void row(float[] out, int r, Sampling s, SplittableRandom random) {
        out[r * COLUMNS] = (float) s.temperature();
        out[r * COLUMNS + 1] = (float) s.topP();
        out[r * COLUMNS + 2] = s.greedy() ? 0f : (float) random.nextDouble();
    }
}
