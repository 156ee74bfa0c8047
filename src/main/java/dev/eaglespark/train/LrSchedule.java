package dev.eaglespark.train;

/** Linear warmup to the peak, then cosine decay to a floor at the last step. */
public record LrSchedule(double peak, double floor, long warmupSteps, long totalSteps) {

    /** Learning rate of update {@code step} (0-based). */
    public double at(long step) {
        if (step < warmupSteps) {
            return peak * (step + 1) / warmupSteps;
        }
        long decaySteps = Math.max(1, totalSteps - warmupSteps);
        double progress = Math.min(1.0, (double) (step - warmupSteps) / decaySteps);
        return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
