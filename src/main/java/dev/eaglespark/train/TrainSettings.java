package dev.eaglespark.train;

import dev.eaglespark.draft.LossMaskAlignment;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.draft.TrainTimeTest;
import java.io.Serializable;

/**
 * The knobs of draft training. Made by {@link #builder()}, which holds every default (those of
 * {@code eaglespark train}), and changed by {@link #toBuilder()}: callers name what they set.
 *
 * @param tttLength train-time-test steps
 * @param stepDecay weight of step k's loss: stepDecay^k
 * @param warmupSteps updates of linear learning-rate warmup
 * @param totalSteps updates of the run (the cosine decay's length); 0 until the run sets it
 *     ({@link #forRun})
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
    /** Checked here so that every caller learns of a bad scale before a task starts. */
    public TrainSettings {
        if (!(initialLossScale > 0) || lossScaleGrowthInterval < 1) {
            throw new IllegalArgumentException("the loss scale must be > 0 and its growth interval >= 1, got "
                    + initialLossScale + " and " + lossScaleGrowthInterval);
        }
    }

    /** The defaults, to change by name. */
    public static Builder builder() {
        return new Builder();
    }

    /** These settings, to change by name. */
    public Builder toBuilder() {
        return builder().tttLength(tttLength).stepDecay(stepDecay).loss(loss).lr(lr).minLr(minLr)
                .warmupSteps(warmupSteps).totalSteps(totalSteps).weightDecay(weightDecay).clipNorm(clipNorm)
                .microBatch(microBatch).accumulation(accumulation).seed(seed).precision(precision)
                .initialLossScale(initialLossScale).lossScaleGrowthInterval(lossScaleGrowthInterval)
                .lossMask(lossMask).recompute(recompute);
    }

    /** The same settings for a run of {@code steps} updates computing in {@code p}. */
    public TrainSettings forRun(long steps, Precision p) {
        return toBuilder().totalSteps(steps).precision(p).build();
    }

    public LrSchedule schedule() {
        return new LrSchedule(lr, minLr, warmupSteps, totalSteps);
    }

    /** TrainSettings by name; each field starts at its default. */
    public static final class Builder {
        private int tttLength = 7;
        private double stepDecay = TrainTimeTest.STEP_DECAY;
        private LossType loss = LossType.FORWARD_KL;
        private double lr = 1e-4;
        private double minLr = 1e-5;
        private long warmupSteps = 100;
        private long totalSteps;
        private double weightDecay;
        private double clipNorm = 0.5;
        private int microBatch = 1;
        private int accumulation = 1;
        private long seed;
        private Precision precision = Precision.AUTO;
        /** torch.cuda.amp.GradScaler's defaults. */
        private double initialLossScale = 65536;
        private int lossScaleGrowthInterval = 2000;
        private LossMaskAlignment lossMask = LossMaskAlignment.SHIFTED;
        private boolean recompute;

        private Builder() {}

        public TrainSettings build() {
            return new TrainSettings(tttLength, stepDecay, loss, lr, minLr, warmupSteps, totalSteps, weightDecay,
                    clipNorm, microBatch, accumulation, seed, precision, initialLossScale, lossScaleGrowthInterval,
                    lossMask, recompute);
        }

        public Builder tttLength(int v) {
            tttLength = v;
            return this;
        }

        public Builder stepDecay(double v) {
            stepDecay = v;
            return this;
        }

        public Builder loss(LossType v) {
            loss = v;
            return this;
        }

        public Builder lr(double v) {
            lr = v;
            return this;
        }

        public Builder minLr(double v) {
            minLr = v;
            return this;
        }

        public Builder warmupSteps(long v) {
            warmupSteps = v;
            return this;
        }

        public Builder totalSteps(long v) {
            totalSteps = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder clipNorm(double v) {
            clipNorm = v;
            return this;
        }

        public Builder microBatch(int v) {
            microBatch = v;
            return this;
        }

        public Builder accumulation(int v) {
            accumulation = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder precision(Precision v) {
            precision = v;
            return this;
        }

        public Builder initialLossScale(double v) {
            initialLossScale = v;
            return this;
        }

        public Builder lossScaleGrowthInterval(int v) {
            lossScaleGrowthInterval = v;
            return this;
        }

        public Builder lossMask(LossMaskAlignment v) {
            lossMask = v;
            return this;
        }

        public Builder recompute(boolean v) {
            recompute = v;
            return this;
        }
    }
}
