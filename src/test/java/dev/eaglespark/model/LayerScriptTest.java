package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The layer script's cached form (a prefill, then single steps written into a KV cache in place)
 * computes the full-sequence form's layer, and its timed copy (the op profile's) computes the
 * same layer as the script the forward runs. CUDA's event class does not exist on the CPU, so
 * the test swaps each event for a number (0, and 1 once recorded) and each event call for
 * arithmetic on it, which keeps the copy's structure: an event recorded at every section mark, and the layer's output returned with
 * one value per section.
 */
class LayerScriptTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen2", "tiny-qwen3"}) // plain, qkv bias, per-head norms
    void timedCopyComputesTheSameLayer(String model) {
        TargetConfig cfg = TargetConfig.load(Fixtures.path(model + "/config.json"));
        LayerScript script = new LayerScript(cfg);
        String onCpu = withoutEvents(script.timedCode());
        int d = cfg.headDim();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.randomNormal(new Shape(2, 9, cfg.hiddenSize()));
            NDList rope = new RopeCache(new RotaryEmbedding(cfg.rope(), d, RopePrecision.FP32), m)
                    .fromZero(m, 9, DataType.FLOAT32);
            LayerWeights w = weights(m, cfg);
            NDArray expected = script.forward(x, rope.get(0), rope.get(1), w);
            NDList timed = ScriptModule.of("TimedDecoderLayerOnCpu", onCpu.replace("TimedDecoderLayer", "TimedDecoderLayerOnCpu"))
                    .forward(script.inputs(new NDList(x, rope.get(0), rope.get(1)), w));
            assertArrayEquals(expected.toFloatArray(), timed.get(0).toFloatArray(), model + ": the timed copy's layer output");
            assertEachSectionTimed(timed.get(1), script.sectionNames().size());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen2", "tiny-qwen3"})
    void timedStepCopyComputesTheDecodeStepsLayer(String model) {
        TargetConfig cfg = TargetConfig.load(Fixtures.path(model + "/config.json"));
        LayerScript script = new LayerScript(cfg);
        int d = cfg.headDim();
        int kv = cfg.numKvHeads();
        int capacity = 16;
        long[] pos = {5, 9};
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.randomNormal(new Shape(2, 1, cfg.hiddenSize()));
            NDList rope = new RopeCache(new RotaryEmbedding(cfg.rope(), d, RopePrecision.FP32), m)
                    .fromZero(m, capacity, DataType.FLOAT32);
            NDArray at = m.create(pos);
            NDArray cos = rope.get(0).reshape(capacity, d).get(new NDIndex("{}", at)).reshape(2, 1, 1, d);
            NDArray sin = rope.get(1).reshape(capacity, d).get(new NDIndex("{}", at)).reshape(2, 1, 1, d);
            NDArray bias = m.arange(capacity).toType(DataType.INT64, false).reshape(1, capacity)
                    .gt(at.reshape(2, 1)).toType(DataType.FLOAT32, false).mul(-1e9f).reshape(2, 1, 1, capacity);
            long[] flat = new long[2 * kv];
            for (int r = 0; r < 2; r++) {
                for (int h = 0; h < kv; h++) {
                    flat[r * kv + h] = (long) (r * kv + h) * capacity + pos[r];
                }
            }
            NDArray keys = m.randomNormal(new Shape(2, kv, capacity, d));
            NDArray values = m.randomNormal(new Shape(2, kv, capacity, d));
            LayerWeights w = weights(m, cfg);
            NDList in = script.inputs(new NDList(x, cos, sin, bias, keys, values, m.create(flat),
                    m.create(new int[] {(int) pos[0] + 1, (int) pos[1] + 1})), w);
            NDArray expected = ScriptModule.of("StepLayerOnCpu", script.layerMethod("StepLayerOnCpu", "forward",
                    LayerScript.Form.STEP) + script.helperMethods("StepLayerOnCpu")).forward(in).singletonOrThrow();
            NDList timed = ScriptModule.of("TimedStepOnCpu",
                    withoutEvents(script.timedStepCode()).replace("TimedDecodeStepLayer", "TimedStepOnCpu")).forward(in);
            assertArrayEquals(expected.toFloatArray(), timed.get(0).toFloatArray(), model + ": the timed step's output");
            assertEquals(java.util.List.of("input RMSNorm", "QKV projection GEMM", "split to heads + rotary (q and k)",
                    "attention over the slots", "output projection GEMM + residual", "post-attention RMSNorm",
                    "gate/up projection GEMM", "SwiGLU", "down projection GEMM + residual"), script.stepSectionNames());
            assertEachSectionTimed(timed.get(1), script.stepSectionNames().size());
        }
    }

    /** A timed copy with a number for each CUDA event (0, 1 once recorded) and arithmetic for each event call. */
    private static String withoutEvents(String timedCode) {
        return timedCode
                .replaceAll("__torch__\\.torch\\.classes\\.cuda\\.Event\\(True, False, False\\)", "0.0")
                .replaceAll("(e\\d+)\\.record\\(.*\\)", "$1 = $1 + 1.0")
                .replaceAll("(e\\d+)\\.synchronize\\(\\)", "$1 = $1 + 0.0")
                .replaceAll("(e\\d+)\\.elapsed_time\\((e\\d+)\\)", "($1 * $2)"); // 1 where both were recorded
    }

    private static void assertEachSectionTimed(NDArray gaps, int sections) {
        float[] ms = gaps.toFloatArray();
        assertEquals(sections, ms.length);
        for (float s : ms) {
            assertEquals(1.0f, s, 0f, "each section between two recorded events");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen2", "tiny-qwen3"})
    void cachedFormComputesTheFullSequencesLayer(String model) {
        TargetConfig cfg = TargetConfig.load(Fixtures.path(model + "/config.json"));
        LayerScript script = new LayerScript(cfg);
        int d = cfg.headDim();
        RotaryEmbedding rope = new RotaryEmbedding(cfg.rope(), d, RopePrecision.FP32);
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             KvCache cache = new KvCache(Device.cpu(), 1)) {
            LayerWeights w = weights(m, cfg);
            NDArray x = m.randomNormal(new Shape(2, 9, cfg.hiddenSize()));
            NDList fromZero = new RopeCache(rope, m).fromZero(m, 9, DataType.FLOAT32);
            NDArray full = script.forward(x, fromZero.get(0), fromZero.get(1), w);
            // a prefill of 5 positions, then one at a time, each written into the cache in place
            NDList parts = new NDList();
            for (int start = 0; start < 9; start = (int) cache.length()) {
                int n = start == 0 ? 5 : 1;
                NDArray bias = start == 0 ? Attention.causalBias(m, new long[] {5, 5}, n, DataType.FLOAT32)
                        : Attention.afterCacheBias(m, start, n, DataType.FLOAT32);
                NDList buffers = cache.reserve(0, new Shape(2, cfg.numKvHeads(), n, d), DataType.FLOAT32);
                NDList cs = rope.table(m, start, n, DataType.FLOAT32);
                parts.add(script.forwardCached(x.get(":, {}:{}", start, start + n), cs.get(0), cs.get(1), bias,
                        buffers.get(0), buffers.get(1), w));
            }
            NDArray stepwise = NDArrays.concat(parts, 1);
            assertEquals(full.getShape(), stepwise.getShape());
            // fp32; the two attention paths differ only in summation order
            float diff = full.sub(stepwise).abs().max().getFloat();
            assertTrue(diff < 1e-5f * full.abs().max().getFloat(), model + ": max difference " + diff);
            // speculative decoding's rollback: back to 6 positions, position 6 again gives the same output
            cache.truncate(6);
            NDArray bias = Attention.afterCacheBias(m, 6, 1, DataType.FLOAT32);
            NDList buffers = cache.reserve(0, new Shape(2, cfg.numKvHeads(), 1, d), DataType.FLOAT32);
            NDList cs = rope.table(m, 6, 1, DataType.FLOAT32);
            NDArray again = script.forwardCached(x.get(":, 6:7"), cs.get(0), cs.get(1), bias, buffers.get(0),
                    buffers.get(1), w);
            assertArrayEquals(stepwise.get(":, 6:7").toFloatArray(), again.toFloatArray(), model + ": after truncation");
        }
    }

    private static LayerWeights weights(NDManager m, TargetConfig cfg) {
        int h = cfg.hiddenSize();
        int d = cfg.headDim();
        long qkvRows = (long) (cfg.numHeads() + 2 * cfg.numKvHeads()) * d;
        long inter = cfg.intermediateSize();
        return new LayerWeights(
                m.randomUniform(0.5f, 1.5f, new Shape(h)), normal(m, new Shape(qkvRows, h)),
                normal(m, new Shape(qkvRows)), normal(m, new Shape(h, (long) cfg.numHeads() * d)),
                m.randomUniform(0.5f, 1.5f, new Shape(d)), m.randomUniform(0.5f, 1.5f, new Shape(d)),
                m.randomUniform(0.5f, 1.5f, new Shape(h)), normal(m, new Shape(2 * inter, h)),
                normal(m, new Shape(h, inter)));
    }

    private static NDArray normal(NDManager m, Shape shape) {
        return m.randomNormal(0, 0.1f, shape, DataType.FLOAT32);
    }
}
