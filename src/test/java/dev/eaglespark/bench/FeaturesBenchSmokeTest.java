package dev.eaglespark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.eaglespark.model.LayerScript;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.api.Test;

/** Keeps the benchmark code compiling and running on CPU at tiny shapes (no timing asserted). */
class FeaturesBenchSmokeTest {
    @Test
    void runsAtTinyShapes() {
        TargetConfig cfg = TargetConfig.load(Fixtures.path("tiny-qwen3/config.json"));
        try (TargetModel model = TargetModel.random(cfg, Device.cpu(), TargetModel.defaultDtype(Device.cpu()))) {
            FeaturesBench.Result r = new FeaturesBench(model, new int[] {2, 3, 3}).run(2, 16, 1, 2, 1);
            assertEquals(2, r.batch());
            assertTrue(r.tokensPerSecond() > 0 && r.tflops() > 0, r.format());
        }
    }

    @Test
    void countsFlopsOfLlama8B() throws Exception {
        TargetConfig cfg = TargetConfig.parse(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(FeaturesBench.llama31_8bConfig()), "8b");
        // 6.98e9 non-embedding parameters (without lm_head) -> 13.96 GFLOP, plus 2*2048*4096*32 for attention.
        assertEquals(2 * 6.979321856e9 + 2.0 * 2048 * 4096 * 32, FeaturesBench.flopsPerToken(cfg, 2048), 1e6);
    }

    @Test
    void benchCommandRunsOnCpu() {
        assertEquals(0, dev.eaglespark.cli.Main.run(new String[] {"bench", "--shapes",
                Fixtures.path("tiny-llama3/config.json").toString(), "--device", "cpu", "--batch", "1",
                "--seq", "8", "--warmup", "0", "--iters", "1", "--op-profile"}));
    }

    @Test
    void opProfileTimesTheLayerAndTheCopy() {
        TargetConfig cfg = TargetConfig.load(Fixtures.path("tiny-llama3/config.json"));
        java.util.List<ForwardOpProfile.Row> rows = new ForwardOpProfile(cfg, Device.cpu()).run(2, 16, 3);
        // On the CPU there are no CUDA events, so no layer sections: the whole layer and the copy.
        assertEquals(java.util.List.of(ForwardOpProfile.WHOLE_LAYER, "aux fusion + copy of the features to the host"),
                rows.stream().map(ForwardOpProfile.Row::name).toList());
        for (ForwardOpProfile.Row r : rows) {
            assertTrue(r.gpuMs() > 0 && r.gpuMs() >= r.dispatchMs(), r.toString());
        }
        assertTrue(ForwardOpProfile.format(rows, 1.0, "forward").contains("| whole iteration as measured | | 1.00 |"));
    }

    @Test
    void layerSectionsAreNamedInOrder() {
        LayerScript script = new LayerScript(TargetConfig.load(Fixtures.path("tiny-qwen3/config.json")));
        assertEquals(java.util.List.of("input RMSNorm", "QKV projection GEMM", "split to heads + rotary (q and k)",
                "causal attention (flash)", "output projection GEMM + residual", "post-attention RMSNorm",
                "gate/up projection GEMM", "SwiGLU", "down projection GEMM + residual"), script.sectionNames());
    }
}
