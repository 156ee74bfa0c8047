package dev.eaglespark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eaglespark.draft.LossMaskAlignment;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.train.TrainSettings;
import org.junit.jupiter.api.Test;

/** train's options make the TrainSettings they say; their declared defaults are TrainSettings' own. */
class TrainCommandTest {
    private static TrainSettings settings(String... options) {
        String[] required = {"--features", "f", "--target", "t", "--vocab", "v", "--checkpoints", "c"};
        String[] argv = new String[required.length + options.length];
        System.arraycopy(required, 0, argv, 0, required.length);
        System.arraycopy(options, 0, argv, required.length, options.length);
        return ((TrainCommand) OptionParser.parse(argv, TrainCommand::new, Main.commands())).settings();
    }

    @Test
    void defaultsAreTrainSettingsDefaults() {
        assertEquals(TrainSettings.builder().build(), settings());
    }

    @Test
    void everyTrainingOptionReachesTheSettings() {
        TrainSettings expected = TrainSettings.builder().tttLength(5).loss(LossType.REVERSE_KL).lr(3e-4).minLr(0)
                .warmupSteps(7).weightDecay(0.01).clipNorm(1.5).microBatch(2).accumulation(4).seed(-3)
                .precision(Precision.FP16).initialLossScale(1024).lossScaleGrowthInterval(50)
                .lossMask(LossMaskAlignment.REFERENCE).recompute(true).build();
        assertEquals(expected, settings("--ttt", "5", "--loss", "reverse_kl", "--lr", "3e-4", "--min-lr", "0",
                "--warmup", "7", "--weight-decay", "0.01", "--clip", "1.5", "--micro-batch", "2", "--accumulation", "4",
                "--seed", "-3", "--precision", "fp16", "--loss-scale", "1024", "--loss-scale-interval", "50",
                "--loss-mask", "reference", "--recompute"));
    }
}
