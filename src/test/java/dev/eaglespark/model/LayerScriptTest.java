package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The timed copy of the layer script (the op profile's) computes the same layer as the script
 * the forward runs. CUDA's event class does not exist on the CPU, so the test swaps each event
 * for a number (0, and 1 once recorded) and each event call for arithmetic on it, which keeps the
 * copy's structure: an event recorded at every section mark, and the layer's output returned with
 * one value per section.
 */
class LayerScriptTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen2", "tiny-qwen3"}) // plain, qkv bias, per-head norms
    void timedCopyComputesTheSameLayer(String model) {
        TargetConfig cfg = TargetConfig.load(Fixtures.path(model + "/config.json"));
        LayerScript script = new LayerScript(cfg);
        String onCpu = script.timedCode()
                .replaceAll("__torch__\\.torch\\.classes\\.cuda\\.Event\\(True, False, False\\)", "0.0")
                .replaceAll("(e\\d+)\\.record\\(.*\\)", "$1 = $1 + 1.0")
                .replaceAll("(e\\d+)\\.synchronize\\(\\)", "$1 = $1 + 0.0")
                .replaceAll("(e\\d+)\\.elapsed_time\\((e\\d+)\\)", "($1 * $2)"); // 1 where both were recorded
        int h = cfg.hiddenSize();
        int d = cfg.headDim();
        long qkvRows = (long) (cfg.numHeads() + 2 * cfg.numKvHeads()) * d;
        long inter = cfg.intermediateSize();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.randomNormal(new Shape(2, 9, h));
            NDList rope = new RopeCache(new RotaryEmbedding(cfg.rope(), d, RopePrecision.FP32), m)
                    .fromZero(m, 9, DataType.FLOAT32);
            NDArray[] w = {
                m.randomUniform(0.5f, 1.5f, new Shape(h)), normal(m, new Shape(qkvRows, h)),
                normal(m, new Shape(qkvRows)), normal(m, new Shape(h, (long) cfg.numHeads() * d)),
                m.randomUniform(0.5f, 1.5f, new Shape(d)), m.randomUniform(0.5f, 1.5f, new Shape(d)),
                m.randomUniform(0.5f, 1.5f, new Shape(h)), normal(m, new Shape(2 * inter, h)),
                normal(m, new Shape(h, inter))};
            NDArray expected = script.forward(x, rope.get(0), rope.get(2), w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]);
            NDList timed = ScriptModule.of("TimedDecoderLayerOnCpu", onCpu.replace("TimedDecoderLayer", "TimedDecoderLayerOnCpu"))
                    .forward(script.inputs(x, rope.get(0), rope.get(2), w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]));
            assertArrayEquals(expected.toFloatArray(), timed.get(0).toFloatArray(), model + ": the timed copy's layer output");
            float[] sections = timed.get(1).toFloatArray();
            assertEquals(script.sectionNames().size(), sections.length);
            for (float s : sections) {
                assertEquals(1.0f, s, 0f, "each section between two recorded events");
            }
        }
    }

    private static NDArray normal(NDManager m, Shape shape) {
        return m.randomNormal(0, 0.1f, shape, DataType.FLOAT32);
    }
}
