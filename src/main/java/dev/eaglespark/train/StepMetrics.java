package dev.eaglespark.train;

/**
 * One optimizer update: weighted loss, per-TTT-step loss and accuracy, gradient norm, lr, the
 * loss scale its backward ran with (1 in fp32), tokens.
 */
public record StepMetrics(long step, double loss, float[] stepLoss, float[] stepAcc, double gradNorm, double lr,
                          double lossScale, long tokens, double seconds) {

    public String format() {
        return String.format("step %d loss %.4f acc0 %.3f acc%d %.3f |g| %.3f lr %.2e scale %.0f %,.0f tok/s", step,
                loss, stepAcc[0], stepAcc.length - 1, stepAcc[stepAcc.length - 1], gradNorm, lr, lossScale,
                tokens / seconds);
    }
}
