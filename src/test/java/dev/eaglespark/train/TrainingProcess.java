package dev.eaglespark.train;

import ai.djl.Device;
import dev.eaglespark.collective.LocalCollective;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.export.ServingEngine;
import org.apache.hadoop.conf.Configuration;

/**
 * A training run in a JVM of its own, for {@link TrainingSigtermTest} to stop with SIGTERM:
 * {@code FEATURES TARGET VOCAB CHECKPOINTS}, one-row micro-batches, a checkpoint after every update, resumed
 * when the directory holds one, more updates than it will live for. Prints {@code update N}
 * after each update so the test can aim its signal.
 */
public final class TrainingProcess {
    private TrainingProcess() {}

    public static void main(String[] args) throws Exception {
        TrainSettings s = TrainSettings.builder().tttLength(7).loss(LossType.FORWARD_KL).lr(1e-3).minLr(1e-4)
                .warmupSteps(5).seed(3).build();
        Configuration conf = new Configuration();
        boolean resume = new Checkpoints(args[3], conf).latest() != null;
        TrainJob job = new TrainJob(args[0], args[1], args[2], false, args[3], 1, 100_000, 1, resume, null,
                ServingEngine.SGLANG, s);
        try {
            DraftTraining.run(job, new LocalCollective(), Device.cpu(), conf, m -> {
                System.out.println("update " + m.step());
                System.out.flush();
            });
        } catch (GracefulStop.StoppedException e) {
            System.out.println("stopped: " + e.getMessage());
            System.out.flush();
            throw e;
        }
    }
}
