package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.gpu.GpuCheck;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The KV-cached forward on a GPU (the cached layer script, which writes each step's keys and
 * values into the cache in place, through the optimizing executor) against the full forward in
 * fp32 on the CPU, teacher-forced over one 330-token sequence: a 40-token prefill, then one
 * token at a time, with a 4-token step (speculative verification's shape) and a rollback of 3
 * positions at position 200, past the cache's first growth (at 296 positions). Every step's
 * logits against the same positions of the CPU's, as a fraction of their largest magnitude. Limits:
 * fp32 1e-4; fp16 1.5 times the error of the GPU's full fp16 forward of the same sequence (fp16's
 * own error grows with the length: the full forward's check stays at 64 tokens).
 * Usage: GpuCachedForwardCheck MODEL_DIR...
 */
public final class GpuCachedForwardCheck {
    private GpuCachedForwardCheck() {}

    public static void main(String[] dirs) {
        for (String dir : dirs) {
            try (TargetModel cpu = TargetModel.load(Path.of(dir), Device.cpu(), DataType.FLOAT32);
                 NDManager m = NDManager.newBaseManager(Device.cpu())) {
                long v = cpu.config().vocabSize();
                long[] ids = new Random(5).longs(330, 0, v).toArray();
                float[] expected = cpu.forward(m, List.of(ids), ForwardRequest.logitsOnly()).logits().toFloatArray();
                for (DataType dtype : new DataType[] {DataType.FLOAT16, DataType.FLOAT32}) {
                    try (TargetModel gpu = TargetModel.load(Path.of(dir), Device.gpu(), dtype)) {
                        double err = error(expected, stepwise(gpu, ids, m));
                        double full = error(expected, gpu.forward(m, List.of(ids), ForwardRequest.logitsOnly()).logits()
                                .toType(DataType.FLOAT32, false).toFloatArray());
                        double limit = dtype == DataType.FLOAT16 ? 1.5 * full : 1e-4;
                        GpuCheck.report(err <= limit, String.format("%s %s, 330 cached positions: logits within %.3e,"
                                + " the full forward within %.3e (limit %.3e)", Path.of(dir).getFileName(), dtype, err,
                                full, limit));
                    }
                }
            }
        }
        GpuCheck.exit();
    }

    /** The largest difference as a fraction of the expected values' largest magnitude. */
    private static double error(float[] expected, float[] got) {
        double max = 0;
        double err = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(expected[i] - got[i]));
        }
        return err / max;
    }

    /** Logits of every position of {@code ids}, [T * V], from cached steps on the GPU. */
    private static float[] stepwise(TargetModel gpu, long[] ids, NDManager m) {
        long v = gpu.config().vocabSize();
        float[] out = new float[(int) (ids.length * v)];
        try (KvCache cache = new KvCache(gpu.device(), gpu.config().numLayers())) {
            int at = 0;
            boolean rolledBack = false;
            while (at < ids.length) {
                int n = at == 0 ? 40 : at == 200 ? 4 : 1;
                try (NDManager scope = NDManager.newBaseManager(gpu.device())) {
                    NDArray logits = gpu.extend(scope, Arrays.copyOfRange(ids, at, at + n), cache,
                            ForwardRequest.logitsOnly()).logits();
                    float[] rows = logits.toType(DataType.FLOAT32, false).toFloatArray();
                    System.arraycopy(rows, 0, out, (int) (at * v), rows.length);
                }
                at += n;
                if (at == 204 && !rolledBack) { // drop the last 3 and compute them again one at a time
                    cache.truncate(201);
                    at = 201;
                    rolledBack = true;
                }
            }
        }
        return out;
    }
}
