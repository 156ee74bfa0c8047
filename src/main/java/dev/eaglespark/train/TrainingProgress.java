package dev.eaglespark.train;

/** Throughput and time left, for the progress line rank 0 logs after every update. */
final class TrainingProgress {
    private final long total;
    private final long startStep;
    private final long startNanos = System.nanoTime();

    TrainingProgress(long startStep, long total) {
        this.startStep = startStep;
        this.total = total;
    }

    /** "eta 1h02m" from the mean time per update of this run so far. */
    String after(StepMetrics m) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        long done = m.step() - startStep;
        long left = (long) (elapsed / Math.max(1, done) * (total - m.step()));
        return String.format("eta %dh%02dm%02ds", left / 3600, left / 60 % 60, left % 60);
    }
}
