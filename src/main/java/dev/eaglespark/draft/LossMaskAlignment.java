package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;

/**
 * Where the loss mask stands relative to the targets. Before step 0, the ids and the target
 * distributions move left by one (position t reads token t+1 and learns the target's
 * distribution at t+1, the token after it); the stored loss mask marks assistant tokens at their
 * own positions.
 */
public enum LossMaskAlignment {
    /**
     * The mask moves left with the targets: position t counts when token t+1 is an assistant
     * token. The last prompt position, which proposes the first draft token after every prompt
     * at serving time, is trained, and the last position of a sample, whose target is padding, is
     * not. The default for training from features.
     */
    SHIFTED,
    /**
     * The mask stays where it is, as the reference trainers leave it (a known defect there:
     * SpecForge issue 885 / PR 895, EAGLE issue 317): position t counts when token t is an
     * assistant token, so the last prompt position is never trained and a sample ending in an
     * assistant turn trains its last position against a zero-padded target. The reference
     * fixtures and {@code train-step} use it, since their values were computed that way.
     */
    REFERENCE;

    public static LossMaskAlignment parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("loss mask must be shifted or reference, got '" + s + "'");
        }
    }

    /** The batch with its loss mask aligned this way (the mask both the soft labels and the accuracies read). */
    public TrainTimeTest.Batch align(TrainTimeTest.Batch batch) {
        if (this == REFERENCE) {
            return batch;
        }
        NDArray mask = batch.lossMask();
        NDArray end = mask.getManager().zeros(new Shape(mask.getShape().get(0), 1), mask.getDataType());
        return new TrainTimeTest.Batch(batch.inputIds(), mask.get(":, 1:").concat(end, 1), batch.aux(), batch.bias());
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
