package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Multiplying by a scalar inside the autograd graph must keep the scalar alive until backward.
 * Between forward and backward this test frees what it can and fills fresh native memory with
 * a poison value, so a factor that lived in freed memory shows up in the gradient.
 */
class ScaleGradientTest {
    @Test
    void gradientOfAScaledTensorIsTheFactor() {
        for (int attempt = 0; attempt < 20; attempt++) {
            try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                NDArray x = m.ones(new Shape(4, 4));
                x.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray y = Ops.scale(x, 0.25f).sum();
                    poisonFreedMemory();
                    gc.backward(y);
                }
                for (float g : x.getGradient().toFloatArray()) {
                    assertEquals(0.25f, g, 0f, "attempt " + attempt);
                }
            }
        }
    }

    private static void poisonFreedMemory() {
        System.gc();
        List<ByteBuffer> junk = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
            while (b.remaining() >= 4) {
                b.putFloat(1e30f);
            }
            junk.add(b);
        }
        assertEquals(64, junk.size());
    }
}
