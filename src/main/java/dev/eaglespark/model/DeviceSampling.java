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
 * That is the host sampler's rule ({@link Sampling#pick}) in fp32 sums instead of fp64, so the
 * two agree in distribution (tested) and on nearly every draw. The sort runs only when a row of
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

    /**
     * The TorchScript method {@code pick(logits, sampling, sample, nucleus)} of class
     * {@code $CLASS}: {@code sample} false skips all but the arg max (every row greedy),
     * {@code nucleus} false the sort (no row below top-p 1). A u that rounds up to 1 in fp32
     * takes the last token of the row's candidates.
     */
    static String pickMethod() {
        return """
                  def pick(self: __torch__.$CLASS, logits: Tensor, sampling: Tensor, sample: bool,
                      nucleus: bool) -> Tensor:
                    greedy = torch.argmax(logits, -1)
                    if not sample:
                      return greedy
                    temperature = torch.select(sampling, 1, 0)
                    top_p = torch.unsqueeze(torch.select(sampling, 1, 1), 1)
                    u = torch.unsqueeze(torch.select(sampling, 1, 2), 1)
                    hot = torch.gt(temperature, 0.)
                    p = torch.softmax(torch.div(logits, torch.unsqueeze(torch.where(hot, temperature, 1.), 1)), -1)
                    last = torch.size(p, -1) - 1
                    cum = torch.cumsum(p, -1)
                    at = torch.searchsorted(cum, torch.mul(u, torch.slice(cum, -1, last)), right=True)
                    token = torch.squeeze(torch.clamp_max(at, last), 1)
                    if nucleus:
                      sorted_p, order = torch.sort(p, stable=True, dim=-1, descending=True)
                      cum_s = torch.cumsum(sorted_p, -1)
                      before = torch.cat([torch.zeros_like(torch.slice(cum_s, -1, 0, 1)), torch.slice(cum_s, -1, 0, last)], -1)
                      count = torch.sum(torch.lt(before, top_p), [-1], True)
                      kept = torch.gather(cum_s, 1, torch.sub(count, 1))
                      j = torch.minimum(torch.searchsorted(cum_s, torch.mul(u, kept), right=True), torch.sub(count, 1))
                      in_nucleus = torch.squeeze(torch.gather(order, 1, j), 1)
                      token = torch.where(torch.lt(torch.squeeze(top_p, 1), 1.), in_nucleus, token)
                    return torch.where(hot, token, greedy)
                """;
    }
}
