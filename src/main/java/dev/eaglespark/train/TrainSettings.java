package dev.eaglespark.train;

import dev.eaglespark.draft.LossType;
import java.io.Serializable;

/**
 * The knobs of draft training.
 *
 * @param microBatch rows per forward pass
 * @param accumulation micro-batches per optimizer update (global batch = microBatch x accumulation x ranks)
 */
public record TrainSettings(int tttLength, double stepDecay, LossType loss, double lr, double minLr, long warmupSteps,
                            long totalSteps, double weightDecay, double clipNorm, int microBatch, int accumulation,
                            long seed) implements Serializable {

    public LrSchedule schedule() {
        return new LrSchedule(lr, minLr, warmupSteps, totalSteps);
    }
}
