package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.gpu.GpuCheck;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Clipping and the fused AdamW update on a GPU against the same on the CPU (which
 * {@code OptimizerTest} checks against the formula): five updates of a matrix, a vector and a
 * 3-d tensor, with weight decay and clipping. Limit: parameters within 1e-5.
 */
public final class GpuAdamWCheck {
    private GpuAdamWCheck() {}

    public static void main(String[] args) {
        Random r = new Random(1);
        int[][] shapes = {{64, 33}, {129}, {7, 5, 3}};
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu()); NDManager gpu = NDManager.newBaseManager(Device.gpu());
             AdamW onCpu = new AdamW(cpu, 0.9, 0.95, 1e-8, 0.1); AdamW onGpu = new AdamW(gpu, 0.9, 0.95, 1e-8, 0.1)) {
            Map<String, NDArray> pc = new LinkedHashMap<>();
            Map<String, NDArray> pg = new LinkedHashMap<>();
            for (int i = 0; i < shapes.length; i++) {
                Shape s = new Shape(Arrays.stream(shapes[i]).mapToLong(x -> x).toArray());
                float[] values = gaussian(r, s);
                pc.put("w" + i, cpu.create(values, s));
                pg.put("w" + i, gpu.create(values, s));
            }
            for (int step = 1; step <= 5; step++) {
                Map<String, NDArray> gc = new LinkedHashMap<>();
                Map<String, NDArray> gg = new LinkedHashMap<>();
                for (String name : pc.keySet()) {
                    Shape s = pc.get(name).getShape();
                    float[] values = gaussian(r, s);
                    gc.put(name, cpu.create(values, s));
                    gg.put(name, gpu.create(values, s));
                }
                double normCpu = GradientClipping.clip(gc.values(), 3.0);
                double normGpu = GradientClipping.clip(gg.values(), 3.0);
                onCpu.update(pc, gc, 1e-2);
                onGpu.update(pg, gg, 1e-2);
                double worst = 0;
                for (String name : pc.keySet()) {
                    float[] x = pc.get(name).toFloatArray();
                    float[] y = pg.get(name).toFloatArray();
                    for (int j = 0; j < x.length; j++) {
                        worst = Math.max(worst, Math.abs(x[j] - y[j]));
                    }
                }
                GpuCheck.report(worst <= 1e-5, String.format("update %d: norm %.7f (CPU) %.7f (GPU), parameters within %.3e",
                        step, normCpu, normGpu, worst));
            }
        }
        GpuCheck.exit();
    }

    private static float[] gaussian(Random r, Shape s) {
        float[] v = new float[(int) s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }
}
