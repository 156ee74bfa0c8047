package dev.eaglespark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;

/**
 * The checkpoint with the highest validation expected acceptance length so far (the earlier one
 * on a tie), as every checkpoint's state.json records it ({@code extra.best}), so a resumed run
 * goes on comparing against it.
 *
 * @param checkpoint the checkpoint's directory name ({@code step-NNNNNNNN}); null for none
 */
public record BestCheckpoint(long step, double expectedAcceptanceLength, String checkpoint) implements Serializable {
    /** No validation yet. */
    public static final BestCheckpoint NONE = new BestCheckpoint(-1, Double.NEGATIVE_INFINITY, null);

    static BestCheckpoint of(ValidationMetrics v, String checkpoint) {
        return new BestCheckpoint(v.step(), v.expectedAcceptanceLength(), checkpoint);
    }

    public boolean isNone() {
        return checkpoint == null;
    }

    boolean improvedBy(ValidationMetrics v) {
        return v.expectedAcceptanceLength() > expectedAcceptanceLength;
    }

    void save(ObjectNode extra) {
        if (!isNone()) {
            extra.putObject("best").put("step", step).put("expected_acceptance_length", expectedAcceptanceLength)
                    .put("checkpoint", checkpoint);
        }
    }

    static BestCheckpoint restore(JsonNode extra) {
        JsonNode b = extra == null ? null : extra.get("best");
        return b == null ? NONE : new BestCheckpoint(b.get("step").asLong(),
                b.get("expected_acceptance_length").asDouble(), b.get("checkpoint").asText());
    }

    public String format() {
        return isNone() ? "none yet" : String.format("%s (step %d, expected acceptance length %.3f)", checkpoint, step,
                expectedAcceptanceLength);
    }
}
