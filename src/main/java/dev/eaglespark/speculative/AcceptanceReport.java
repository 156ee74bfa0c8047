package dev.eaglespark.speculative;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Acceptance over many generations: tau (tokens per verification round, bonus included, as
 * EAGLE reports it), per-position acceptance (draft token j accepted, given tokens 1..j-1
 * were), generated tokens, the target forwards they took and the wall time of the generations.
 */
public final class AcceptanceReport {
    private final int k;
    private final RoundCounts rounds;
    private long tokens;
    private long forwards;
    private long prompts;
    private double seconds;

    public AcceptanceReport(int k) {
        this.k = k;
        this.rounds = new RoundCounts(k);
    }

    /** A generation and the seconds it took. */
    public void add(SpeculativeDecoder.Result r, double seconds) {
        this.seconds += seconds;
        prompts++;
        tokens += r.tokens().length;
        forwards += r.targetForwards();
        for (int a : r.acceptedPerRound()) {
            rounds.add(a, k);
        }
    }

    public double tau() {
        return rounds.tau();
    }

    public double[] perPosition() {
        return rounds.perPosition();
    }

    /** Target forwards that plain decoding would have needed beyond these (one per token). */
    public long forwardsSaved() {
        return tokens - forwards;
    }

    public double seconds() {
        return seconds;
    }

    public double tokensPerSecond() {
        return seconds == 0 ? 0 : tokens / seconds;
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("prompts", prompts);
        n.put("draft_length", k);
        n.put("tau", tau());
        var pos = n.putArray("acceptance_per_position");
        for (double d : perPosition()) {
            pos.add(d);
        }
        n.put("generated_tokens", tokens);
        n.put("target_forwards", forwards);
        n.put("target_forwards_saved", forwardsSaved());
        n.put("seconds", seconds);
        n.put("tokens_per_second", tokensPerSecond());
        return n;
    }

    public String format() {
        StringBuilder sb = new StringBuilder(String.format("tau %.3f over %d prompts (%,d tokens, %,d target forwards,"
                + " %,d saved, %.1f tokens/s); acceptance by position:", tau(), prompts, tokens, forwards,
                forwardsSaved(), tokensPerSecond()));
        for (double d : perPosition()) {
            sb.append(String.format(" %.3f", d));
        }
        return sb.toString();
    }
}
