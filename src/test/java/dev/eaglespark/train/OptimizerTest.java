package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptimizerTest {
    @Test
    void adamWFollowsTorchsFormula() {
        double lr = 0.01, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
        double[] p = {0.5, -1.0, 2.0, 0.25};
        double[] m = new double[4], v = new double[4];
        double[][] grads = {{0.1, -0.2, 0.3, 0.0}, {-0.5, 0.4, 0.1, 1.0}, {0.05, 0.05, -0.3, 0.2}};
        try (NDManager nd = NDManager.newBaseManager(Device.cpu()); AdamW opt = new AdamW(nd, b1, b2, eps, wd)) {
            NDArray param = nd.create(toFloats(p), new Shape(2, 2));
            for (int t = 1; t <= grads.length; t++) {
                double[] g = grads[t - 1];
                for (int i = 0; i < 4; i++) { // the torch.optim.AdamW update, in double
                    p[i] *= 1 - lr * wd;
                    m[i] = b1 * m[i] + (1 - b1) * g[i];
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                    double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                    p[i] -= lr / (1 - Math.pow(b1, t)) * m[i] / denom;
                }
                opt.update(Map.of("w", param), Map.of("w", nd.create(toFloats(g), new Shape(2, 2))), lr);
            }
            float[] got = param.toFloatArray();
            for (int i = 0; i < 4; i++) {
                assertEquals(p[i], got[i], 1e-6, "param " + i);
            }
            assertEquals(3, opt.steps());
        }
    }

    @Test
    void normWeightsGetNoWeightDecay() {
        try (NDManager nd = NDManager.newBaseManager(Device.cpu()); AdamW opt = new AdamW(nd, 0.9, 0.95, 1e-8, 0.5)) {
            NDArray norm = nd.ones(new Shape(3));
            opt.update(Map.of("norm.weight", norm), Map.of("norm.weight", nd.zeros(new Shape(3))), 0.1);
            assertEquals(1f, norm.toFloatArray()[0], 0f);
        }
    }

    @Test
    void scheduleWarmsUpThenDecaysToTheFloor() {
        LrSchedule s = new LrSchedule(1e-3, 1e-5, 10, 110);
        assertEquals(1e-4, s.at(0), 1e-12);
        assertEquals(1e-3, s.at(9), 1e-12);
        assertEquals(1e-3, s.at(10), 1e-12);
        assertEquals(1e-5 + (1e-3 - 1e-5) * 0.5, s.at(60), 1e-12);
        assertEquals(1e-5, s.at(110), 1e-12);
        assertEquals(1e-5, s.at(500), 1e-12);
    }

    @Test
    void clippingScalesBothSignsByTheGlobalNorm() {
        try (NDManager nd = NDManager.newBaseManager(Device.cpu())) {
            NDArray a = nd.create(new float[] {3, -4});
            NDArray b = nd.create(new float[] {0, 12});
            double norm = GradientClipping.clip(List.of(a, b), 6.5);
            assertEquals(13, norm, 1e-5);
            assertEquals(1.5f, a.toFloatArray()[0], 1e-5);
            assertEquals(-2f, a.toFloatArray()[1], 1e-5);
            assertEquals(6f, b.toFloatArray()[1], 1e-5);
            GradientClipping.clip(List.of(a, b), 100);
            assertEquals(1.5f, a.toFloatArray()[0], 1e-5, "under the limit nothing changes");
        }
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
