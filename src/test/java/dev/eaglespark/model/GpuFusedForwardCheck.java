package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.gpu.GpuCheck;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * The fp16 forward on a GPU through the optimizing executor (profiled on a new shape's first
 * call, fused kernels after, shape-generic ones after two shapes) against fp32 on the CPU: 14
 * calls of padded batches of two, lengths 9 to 64. Limits: logits within 3e-3 of their largest
 * magnitude, and every argmax the same except near-ties: where the two choices' fp32 logits are
 * closer than twice that bound, fp16 rounding may pick either (a tiny random model has many).
 * Usage: GpuFusedForwardCheck MODEL_DIR...
 */
public final class GpuFusedForwardCheck {
    /** Logits within this fraction of their largest magnitude. */
    private static final double LIMIT = 3e-3;

    private GpuFusedForwardCheck() {}

    public static void main(String[] dirs) {
        int[] lengths = {40, 40, 40, 23, 23, 40, 31, 17, 55, 40, 9, 31, 64, 40};
        for (String dir : dirs) {
            try (TargetModel gpu = TargetModel.load(Path.of(dir), Device.gpu(), DataType.FLOAT16);
                 TargetModel cpu = TargetModel.load(Path.of(dir), Device.cpu(), DataType.FLOAT32)) {
                Random r = new Random(3);
                long v = gpu.config().vocabSize();
                for (int call = 0; call < lengths.length; call++) {
                    int n = lengths[call];
                    List<long[]> batch = List.of(r.longs(n, 0, v).toArray(), r.longs(n / 2 + 1, 0, v).toArray());
                    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                        float[] x = cpu.forward(m, batch, ForwardRequest.logitsOnly()).logits().toFloatArray();
                        float[] y = gpu.forward(m, batch, ForwardRequest.logitsOnly()).logits()
                                .toType(DataType.FLOAT32, false).toFloatArray();
                        double max = 0;
                        double err = 0;
                        for (int i = 0; i < x.length; i++) {
                            max = Math.max(max, Math.abs(x[i]));
                            err = Math.max(err, Math.abs(x[i] - y[i]));
                        }
                        int rows = (int) (x.length / v);
                        int agree = 0;
                        int wrong = 0;
                        for (int row = 0; row < rows; row++) {
                            int best = argmax(x, row, v);
                            int chosen = argmax(y, row, v);
                            agree += best == chosen ? 1 : 0;
                            // a different choice is an error only if it was not a near-tie in fp32
                            wrong += x[(int) (row * v + best)] - x[(int) (row * v + chosen)] > 2 * LIMIT * max ? 1 : 0;
                        }
                        GpuCheck.report(err / max <= LIMIT && wrong == 0, String.format(
                                "%s call %d, length %d: logits within %.3e, argmax agreement %d/%d, %d not near-ties",
                                Path.of(dir).getFileName(), call + 1, n, err / max, agree, rows, wrong));
                    }
                }
            }
        }
        GpuCheck.exit();
    }

    private static int argmax(float[] a, int row, long v) {
        int best = 0;
        for (int j = 1; j < v; j++) {
            if (a[(int) (row * v + j)] > a[(int) (row * v + best)]) {
                best = j;
            }
        }
        return best;
    }
}
