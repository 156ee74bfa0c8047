package dev.eaglespark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.Arrays;

/**
 * The held-out features scored teacher-forced by the training forward after update {@code step}:
 * per TTT step the mean loss per token and the accuracy (correct predictions over the positions
 * the loss mask counts, pooled over all rows), the weighted total, and the acceptance length they
 * imply, 1 + sum over k of acc_0 x ... x acc_k: the tau a chain as long as the TTT length would
 * reach if each step were right with its teacher-forced accuracy, independently of the others.
 * Beside them, what {@code evaluate} measures, from the same predictions: greedy speculative
 * rounds simulated over the rows ({@link SpeculativeRounds}), their tokens per round and the
 * acceptance at each draft position given the earlier ones.
 *
 * @param rounds the simulated rounds; 0 in validations recorded before they existed, whose
 *     {@code roundAcceptance} is empty and {@code roundsTau} NaN
 */
public record ValidationMetrics(long step, double loss, double[] stepLoss, double[] stepAcc, long rows, long tokens,
                                long rounds, double roundsTau, double[] roundAcceptance, double seconds)
        implements Serializable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** 1 + sum over k of prod_{j <= k} acc_j. */
    public double expectedAcceptanceLength() {
        double tau = 1;
        double product = 1;
        for (double acc : stepAcc) {
            product *= acc;
            tau += product;
        }
        return tau;
    }

    /** Whether the simulated rounds were recorded (not in older checkpoints). */
    public boolean hasRounds() {
        return roundAcceptance.length > 0;
    }

    public String format() {
        StringBuilder acc = new StringBuilder();
        for (int k = 0; k < stepAcc.length; k++) {
            acc.append(String.format(" acc%d %.3f", k, stepAcc[k]));
        }
        StringBuilder accept = new StringBuilder();
        for (double a : roundAcceptance) {
            accept.append(String.format(" %.3f", a));
        }
        String simulated = hasRounds() ? String.format("; simulated speculative rounds: tau %.3f, acceptance by "
                + "position%s (%,d rounds)", roundsTau, accept, rounds) : "";
        return String.format("validation at step %d: loss %.4f%s, expected acceptance length %.3f%s (%,d rows, %,d "
                + "tokens, %.1f s)", step, loss, acc, expectedAcceptanceLength(), simulated, rows, tokens, seconds);
    }

    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode().put("step", step).put("loss", loss)
                .put("expected_acceptance_length", expectedAcceptanceLength()).put("rows", rows).put("tokens", tokens);
        Arrays.stream(stepLoss).forEach(o.putArray("step_loss")::add);
        Arrays.stream(stepAcc).forEach(o.putArray("step_acc")::add);
        if (hasRounds()) {
            o.put("rounds", rounds).put("rounds_tau", roundsTau);
            Arrays.stream(roundAcceptance).forEach(o.putArray("round_acceptance")::add);
        }
        return o;
    }

    /** Reads {@link #toJson}, also of validations recorded before the simulated rounds existed. */
    public static ValidationMetrics fromJson(JsonNode o) {
        boolean rounds = o.has("round_acceptance");
        return new ValidationMetrics(o.get("step").asLong(), o.get("loss").asDouble(),
                JSON.convertValue(o.get("step_loss"), double[].class), JSON.convertValue(o.get("step_acc"), double[].class),
                o.get("rows").asLong(), o.get("tokens").asLong(), rounds ? o.get("rounds").asLong() : 0,
                rounds ? o.get("rounds_tau").asDouble() : Double.NaN,
                rounds ? JSON.convertValue(o.get("round_acceptance"), double[].class) : new double[0], 0);
    }
}
