package dev.eaglespark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** Keeps the training benchmark compiling and running on CPU at tiny shapes (no timing asserted). */
class TrainBenchSmokeTest {
    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "FP16"})
    void runsAtTinyShapes(Precision precision) {
        DraftConfig cfg = DraftConfig.forTarget(TargetConfig.load(Fixtures.path("tiny-llama3/config.json")), 256, 3);
        try (TrainBench bench = new TrainBench(cfg, Device.cpu(), precision, 3)) {
            TrainBench.Result r = bench.run(2, 16, 1, 2);
            System.out.println(r.format());
            assertEquals(precision, r.precision());
            assertTrue(r.tokensPerSecond() > 0 && r.tflops() > 0, r.format());
        }
    }

    @Test
    void countsFlopsOfLlama8BShapes() throws Exception {
        TargetConfig t = TargetConfig.parse(new ObjectMapper().readTree(FeaturesBench.llama31_8bConfig()), "8b");
        DraftConfig cfg = DraftConfig.forTarget(t, 32000, 3);
        double fc = 2.0 * 12288 * 4096;
        double perStep = 2.0 * (8192.0 * (4096 + 2 * 1024) + 4096.0 * 4096 + 3 * 4096.0 * 14336 + 4096.0 * 32000)
                + 2.0 * 2048 * 4096;
        double softLabels = 2.0 * 4096 * 128256;
        assertEquals(3 * (fc + 7 * perStep) + softLabels, TrainBench.flopsPerToken(cfg, 2048, 7), 1e3);
        assertEquals(17.43e9, TrainBench.flopsPerToken(cfg, 2048, 7), 0.01e9);
    }

    @Test
    void benchCommandRunsTheTrainStageOnCpu() {
        assertEquals(0, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "train", "--shapes",
                Fixtures.path("tiny-llama3/config.json").toString(), "--device", "cpu", "--draft-vocab", "256",
                "--seq", "16", "--ttt", "3", "--warmup", "0", "--iters", "1", "--accumulate", "2"}));
    }

    @Test
    void benchCommandRunsOnlineTrainingWithTheSharedHeadOnCpu() {
        assertEquals(0, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "train", "--shapes",
                Fixtures.path("tiny-llama3/config.json").toString(), "--device", "cpu", "--shared-head", "--online",
                "--seq", "16", "--ttt", "3", "--warmup", "0", "--iters", "1"}));
    }

    @Test
    void countsTheFrozenSharedHeadTwiceNotThrice() throws Exception {
        TargetConfig t = TargetConfig.parse(new ObjectMapper().readTree(FeaturesBench.llama31_8bConfig()), "8b");
        double head = 2.0 * 4096 * 128256;
        assertEquals(TrainBench.flopsPerToken(DraftConfig.forTarget(t, 32000, 3), 2048, 7) - 7 * 3 * 2.0 * 4096 * 32000
                + 7 * 2 * head, TrainBench.flopsPerToken(DraftConfig.forTarget(t, 128256, 3), 2048, 7), 1e3);
    }

    @Test
    void twoRanksAverageTheirGradientsOverTheRing() {
        assertEquals(0, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "train", "--shapes",
                Fixtures.path("tiny-llama3/config.json").toString(), "--device", "cpu", "--draft-vocab", "256",
                "--seq", "16", "--ttt", "3", "--warmup", "0", "--iters", "2", "--workers", "2"}));
    }
}
