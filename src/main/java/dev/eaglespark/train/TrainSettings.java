package dev.eaglespark.train;

import dev.eaglespark.draft.LossMaskAlignment;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.draft.Precision;
import java.io.Serializable;

/**
 * The knobs of draft training.
 *
 * @param microBatch rows per forward pass
 * @param accumulation micro-batches per optimizer update (global batch = microBatch x accumulation x ranks)
 * @param precision compute dtype (AUTO: fp16 on a GPU, fp32 on the CPU)
 * @param initialLossScale fp16 only: the loss scale of the first update
 * @param lossScaleGrowthInterval fp16 only: finite updates in a row after which the scale doubles
 * @param lossMask where the loss mask stands relative to the shifted targets (SHIFTED unless a
 *     reference trainer's numbers are to be reproduced)
 * @param recompute keep only each TTT step's output, keys and values through the forward and
 *     recompute the steps one at a time in the backward (less memory for long sequences, one more
 *     forward of the steps)
 */
public record TrainSettings(int tttLength, double stepDecay, LossType loss, double lr, double minLr, long warmupSteps,
                            long totalSteps, double weightDecay, double clipNorm, int microBatch, int accumulation,
                            long seed, Precision precision, double initialLossScale, int lossScaleGrowthInterval,
                            LossMaskAlignment lossMask, boolean recompute)
        implements Serializable {
    /** torch.cuda.amp.GradScaler's defaults. */
    public static final double DEFAULT_LOSS_SCALE = 65536;
    public static final int DEFAULT_GROWTH_INTERVAL = 2000;

    /** Checked here so that every caller learns of a bad scale before a task starts. */
    public TrainSettings {
        if (!(initialLossScale > 0) || lossScaleGrowthInterval < 1) {
            throw new IllegalArgumentException("the loss scale must be > 0 and its growth interval >= 1, got "
                    + initialLossScale + " and " + lossScaleGrowthInterval);
        }
    }

    /** The loss mask shifted with the targets, every TTT step's activations kept for the backward. */
    public TrainSettings(int tttLength, double stepDecay, LossType loss, double lr, double minLr, long warmupSteps,
                         long totalSteps, double weightDecay, double clipNorm, int microBatch, int accumulation,
                         long seed, Precision precision, double initialLossScale, int lossScaleGrowthInterval) {
        this(tttLength, stepDecay, loss, lr, minLr, warmupSteps, totalSteps, weightDecay, clipNorm, microBatch,
                accumulation, seed, precision, initialLossScale, lossScaleGrowthInterval, LossMaskAlignment.SHIFTED,
                false);
    }

    /** Precision AUTO with GradScaler's defaults, the loss mask shifted with the targets. */
    public TrainSettings(int tttLength, double stepDecay, LossType loss, double lr, double minLr, long warmupSteps,
                         long totalSteps, double weightDecay, double clipNorm, int microBatch, int accumulation,
                         long seed) {
        this(tttLength, stepDecay, loss, lr, minLr, warmupSteps, totalSteps, weightDecay, clipNorm, microBatch,
                accumulation, seed, Precision.AUTO, DEFAULT_LOSS_SCALE, DEFAULT_GROWTH_INTERVAL);
    }

    /** The same settings for a run of {@code steps} updates computing in {@code p}. */
    public TrainSettings forRun(long steps, Precision p) {
        return new TrainSettings(tttLength, stepDecay, loss, lr, minLr, warmupSteps, steps, weightDecay, clipNorm,
                microBatch, accumulation, seed, p, initialLossScale, lossScaleGrowthInterval, lossMask, recompute);
    }

    /** The same settings with the loss mask aligned as {@code alignment} says. */
    public TrainSettings withLossMask(LossMaskAlignment alignment) {
        return new TrainSettings(tttLength, stepDecay, loss, lr, minLr, warmupSteps, totalSteps, weightDecay,
                clipNorm, microBatch, accumulation, seed, precision, initialLossScale, lossScaleGrowthInterval,
                alignment, recompute);
    }

    /** The same settings, recomputing the TTT steps in the backward or not. */
    public TrainSettings withRecompute(boolean on) {
        return new TrainSettings(tttLength, stepDecay, loss, lr, minLr, warmupSteps, totalSteps, weightDecay,
                clipNorm, microBatch, accumulation, seed, precision, initialLossScale, lossScaleGrowthInterval,
                lossMask, on);
    }

    public LrSchedule schedule() {
        return new LrSchedule(lr, minLr, warmupSteps, totalSteps);
    }
}
