package dev.eaglespark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.api.Test;

/** Keeps the decode benchmark compiling and running on CPU at tiny shapes (no timing asserted). */
class DecodeBenchSmokeTest {
    @Test
    void runsAtTinyShapes() {
        TargetConfig cfg = TargetConfig.load(Fixtures.path("tiny-qwen2/config.json"));
        try (TargetModel model = TargetModel.random(cfg, Device.cpu(), TargetModel.defaultDtype(Device.cpu()))) {
            DecodeBench.Result r = new DecodeBench(model).run(3, 7, 5, 0, 2, 1);
            assertEquals(3, r.batch());
            assertTrue(r.stepSeconds() > 0 && r.prefillSeconds() > 0 && r.tokensPerSecond() > 0, r.format());
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
        // a decode step needs a token after the first
        assertEquals(2, dev.eaglespark.cli.Main.run(new String[] {"bench", "--stage", "decode", "--device", "cpu",
                "--new-tokens", "1"}));
    }
}
