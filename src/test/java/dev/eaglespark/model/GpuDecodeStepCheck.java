package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.bench.FeaturesBench;
import dev.eaglespark.gpu.GpuCheck;
import java.nio.file.Path;

/**
 * The one-call decode path on a GPU (prefill and decode steps of rows at their own positions in
 * slots, then an extension, {@link DecodeScriptComparison}) against the per-layer path on the same
 * GPU and an fp32 full forward. Limits, as fractions of the reference logits' largest magnitude:
 * fp32 within 1e-4 of the reference; fp16 within 1.5 times the per-layer fp16 path's own error
 * against it (the two differ in the attention kernel: the step's fused attention computes in fp32
 * inside, the per-layer path's scores are fp16), whose difference is printed too.
 * <p>
 * A model directory is checked in fp16 and fp32 against fp32 on the CPU. {@code llama3.1-8b} is
 * Llama-3.1-8B's shapes (head width 128, 4 query heads per KV head, 128,256 tokens) with random
 * weights and {@value #SHAPE_LAYERS} layers, in fp16 against the same weights in fp32 on the GPU:
 * the tiny fixtures' heads are narrower than any real model's.
 * Usage: GpuDecodeStepCheck MODEL_DIR|llama3.1-8b...
 */
public final class GpuDecodeStepCheck {
    private static final int STEPS = 24;
    private static final int SHAPE_LAYERS = 4;

    private GpuDecodeStepCheck() {}

    public static void main(String[] args) throws Exception {
        for (String arg : args) {
            if (arg.equals("llama3.1-8b")) {
                ObjectNode json = (ObjectNode) new ObjectMapper().readTree(FeaturesBench.llama31_8bConfig());
                json.put("num_hidden_layers", SHAPE_LAYERS);
                TargetConfig cfg = TargetConfig.parse(json, arg);
                try (RandomPair pair = new RandomPair(cfg, Device.gpu(), DataType.FLOAT16)) {
                    check(arg + " (" + SHAPE_LAYERS + " layers, random weights, fp32 reference on the GPU)",
                            pair.low, pair.reference);
                }
                continue;
            }
            try (TargetModel cpu = TargetModel.load(Path.of(arg), Device.cpu(), DataType.FLOAT32)) {
                for (DataType dtype : new DataType[] {DataType.FLOAT16, DataType.FLOAT32}) {
                    try (TargetModel gpu = TargetModel.load(Path.of(arg), Device.gpu(), dtype)) {
                        check(Path.of(arg).getFileName() + " " + dtype + " (fp32 reference on the CPU)", gpu, cpu);
                    }
                }
            }
        }
        GpuCheck.exit();
    }

    private static void check(String what, TargetModel model, TargetModel reference) {
        DecodeScriptComparison.Errors e = DecodeScriptComparison.run(model, reference, STEPS);
        double limit = model.dtype() == DataType.FLOAT16 ? 1.5 * e.perLayer() : 1e-4;
        GpuCheck.report(e.oneCall() <= limit, String.format("%s, prefill + %d steps of 3 rows in slots, an"
                        + " extension, a step: one call within %.3e of the reference (limit %.3e), the per-layer"
                        + " path within %.3e, one call against per-layer %.3e",
                what, STEPS - 1, e.oneCall(), limit, e.perLayer(), e.between()));
    }
}
