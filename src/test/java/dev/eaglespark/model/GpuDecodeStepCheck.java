package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.gpu.GpuCheck;
import java.nio.file.Path;

/**
 * The one-call decode path on a GPU (prefill and decode steps of rows at their own positions in
 * slots, {@link DecodeScriptComparison}) against the per-layer path on the same GPU and the fp32
 * full forward on the CPU, in fp16 and fp32. Limits, as fractions of the reference logits' largest
 * magnitude: fp32 within 1e-4 of the reference; fp16 within 1.5 times the per-layer fp16 path's own
 * error against it (the two differ in the attention kernel: the step's fused attention computes in
 * fp32 inside, the per-layer path's scores are fp16), whose difference is printed too.
 * Usage: GpuDecodeStepCheck MODEL_DIR...
 */
public final class GpuDecodeStepCheck {
    private static final int STEPS = 24;

    private GpuDecodeStepCheck() {}

    public static void main(String[] dirs) {
        for (String dir : dirs) {
            try (TargetModel cpu = TargetModel.load(Path.of(dir), Device.cpu(), DataType.FLOAT32)) {
                for (DataType dtype : new DataType[] {DataType.FLOAT16, DataType.FLOAT32}) {
                    try (TargetModel gpu = TargetModel.load(Path.of(dir), Device.gpu(), dtype)) {
                        DecodeScriptComparison.Errors e = DecodeScriptComparison.run(gpu, cpu, STEPS);
                        double limit = dtype == DataType.FLOAT16 ? 1.5 * e.perLayer() : 1e-4;
                        GpuCheck.report(e.oneCall() <= limit, String.format("%s %s, prefill + %d steps of 3 rows in"
                                        + " slots: one call within %.3e of fp32 on the CPU (limit %.3e), the per-layer"
                                        + " path within %.3e, one call against per-layer %.3e",
                                Path.of(dir).getFileName(), dtype, STEPS - 1, e.oneCall(), limit,
                                e.perLayer(), e.between()));
                    }
                }
            }
        }
        GpuCheck.exit();
    }
}
