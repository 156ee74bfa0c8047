package dev.eaglespark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.model.ContinuousBatcher;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Keeps the decode benchmark compiling and running on CPU at tiny shapes (no timing asserted). */
class DecodeBenchSmokeTest {
    @Test
    void runsAtTinyShapes() {
        TargetConfig cfg = TargetConfig.load(Fixtures.path("tiny-qwen2/config.json"));
        try (TargetModel model = TargetModel.random(cfg, Device.cpu(), TargetModel.defaultDtype(Device.cpu()))) {
            DecodeBench bench = new DecodeBench(model, 4.8e12);
            DecodeBench.Result r = bench.run(3, 7, 5, 0, 2, 1);
            assertEquals(3, r.batch());
            // a step is the difference of two timed generations: at tiny shapes on a busy CPU it can come out
            // negative, so only its being a number is checked (its size is the GPU benchmark's business)
            assertTrue(Double.isFinite(r.stepSeconds()) && r.prefillSeconds() > 0, r.format());
            // the timed steps of 5 new tokens (the 3rd to 5th token) feed positions 8 to 10: the mean reads 10
            assertEquals((long) (3 * 10.0 * dev.eaglespark.model.SlotCache.bytesPerSlot(cfg, model.dtype(), 1)),
                    r.kvBytes());
            var mix = bench.mix(2, 5, 6, DecodeBench.Answers.LOGNORMAL, 2, 9, 3);
            assertEquals(List.of("continuous", "static"), mix.stream().map(DecodeBench.MixResult::admission).toList());
            // the same requests both ways: the same useful tokens, each a row's answer
            assertEquals(mix.get(0).usefulTokens(), mix.get(1).usefulTokens());
            assertEquals(mix.get(0).usefulTokens(), mix.get(0).stats().generated());
            assertTrue(mix.get(1).stats().steps() >= mix.get(0).stats().steps(), "static batches take more steps");
            // 5 requests through 2 slots: the queue runs dry partway, after some tokens and before the end
            ContinuousBatcher.Stats continuous = mix.get(0).stats();
            assertTrue(continuous.generatedWhileQueued() > 0
                    && continuous.generatedWhileQueued() < continuous.generated()
                    && continuous.secondsWhileQueued() < continuous.seconds(), continuous.format());
        }
    }

    @Test
    void countsTheWeightsOfLlama8B() throws Exception {
        TargetConfig cfg = TargetConfig.parse(new ObjectMapper().readTree(FeaturesBench.llama31_8bConfig()), "8b");
        // 6.98e9 layer parameters and a 128256 x 4096 lm_head, two bytes each in fp16
        assertEquals(2 * (6_979_321_856L + 128_256L * 4096), DecodeBench.weightBytes(cfg, 2));
    }

    @Test
    void benchCommandRunsOnCpu() {
        assertEquals(0, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "decode", "--shapes",
                Fixtures.path("tiny-llama3/config.json").toString(), "--device", "cpu", "--batch", "2",
                "--prompt-len", "6", "--new-tokens", "3", "--warmup", "0", "--iters", "1"}));
        assertEquals(0, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "decode", "--shapes",
                Fixtures.path("tiny-llama3/config.json").toString(), "--device", "cpu", "--batch", "2",
                "--prompt-len", "6", "--mix", "uniform", "--requests", "2", "--answers", "2-5"}));
        // a decode step needs a token after the first
        assertEquals(2, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "decode", "--device", "cpu",
                "--new-tokens", "1"}));
        // the step's sections are timed by CUDA events: a usage error on the CPU, before any work
        assertEquals(2, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "decode", "--device", "cpu",
                "--op-profile"}));
    }
}
