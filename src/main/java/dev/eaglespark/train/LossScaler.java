package dev.eaglespark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Dynamic loss scaling as torch.cuda.amp.GradScaler does it: the loss is multiplied by the
 * scale before backward so small fp16 gradients do not flush to zero; an update with a
 * non-finite gradient is skipped and halves the scale, {@code growthInterval} finite updates
 * in a row double it. Fed the gradients after they are averaged across ranks, every rank makes
 * the same decision. The fp32 path uses {@link #none()}: scale 1, never changing.
 */
public final class LossScaler {
    private final boolean dynamic;
    private final int growthInterval;
    private double scale;
    private long goodUpdates;

    private LossScaler(boolean dynamic, double scale, int growthInterval) {
        if (!(scale > 0) || growthInterval < 1) {
            throw new IllegalArgumentException("loss scale must be > 0 and its growth interval >= 1, got " + scale
                    + " and " + growthInterval);
        }
        this.dynamic = dynamic;
        this.scale = scale;
        this.growthInterval = growthInterval;
    }

    public static LossScaler dynamic(double initialScale, int growthInterval) {
        return new LossScaler(true, initialScale, growthInterval);
    }

    public static LossScaler none() {
        return new LossScaler(false, 1, 1);
    }

    /** Whether the scale moves (fp16) or stays 1 (fp32). */
    public boolean isDynamic() {
        return dynamic;
    }

    public double scale() {
        return scale;
    }

    /** Finite updates since the scale last changed. */
    public long goodUpdates() {
        return goodUpdates;
    }

    /** After an update: halve on overflow, double after growthInterval finite ones in a row. */
    public void update(boolean finite) {
        if (!dynamic) {
            return;
        }
        if (!finite) {
            scale /= 2;
            goodUpdates = 0;
        } else if (++goodUpdates == growthInterval) {
            // GradScaler keeps the old scale where doubling would overflow fp32.
            scale = Double.isFinite((float) (scale * 2)) ? scale * 2 : scale;
            goodUpdates = 0;
        }
    }

    /** Into a checkpoint's state.json, so a resumed run continues with the same scale (fp16 runs only). */
    public void save(ObjectNode state) {
        if (dynamic) {
            state.putObject("loss_scale").put("scale", scale).put("good_updates", goodUpdates);
        }
    }

    /** From a checkpoint's state (absent when an fp32 run wrote it: the initial scale stays). */
    public void restore(JsonNode state) {
        JsonNode s = state == null ? null : state.get("loss_scale");
        if (dynamic && s != null) {
            scale = s.get("scale").asDouble();
            goodUpdates = s.get("good_updates").asLong();
        }
    }
}
