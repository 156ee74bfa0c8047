package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/**
 * The cache returns exactly the concatenation of what was appended, across the growth of its
 * buffers (a prefill, then single steps past several growths) and after truncation, and the
 * views it hands out stay valid for their scope while later steps grow the buffers.
 */
class KvCacheTest {
    @Test
    void holdsTheConcatenationOfItsStepsAcrossGrowthAndTruncation() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             KvCache cache = new KvCache(Device.cpu(), 2)) {
            NDArray expectedK = null;
            NDArray expectedV = null;
            long[] steps = new long[700];
            steps[0] = 37; // the prefill (room for 293), then one position at a time: growths at 294 and 551
            java.util.Arrays.fill(steps, 1, steps.length, 1);
            for (int i = 0; i < steps.length; i++) {
                NDArray k = m.randomNormal(0, 1, new Shape(2, 3, steps[i], 4), DataType.FLOAT32);
                NDArray v = m.randomNormal(0, 1, new Shape(2, 3, steps[i], 4), DataType.FLOAT32);
                expectedK = expectedK == null ? k : expectedK.concat(k, 2);
                expectedV = expectedV == null ? v : expectedV.concat(v, 2);
                if (i == 500) { // speculative decoding's rollback: drop the last 5 positions
                    cache.truncate(cache.length() - 5);
                    expectedK = expectedK.get(":, :, :{}", expectedK.getShape().get(2) - 6).concat(k, 2);
                    expectedV = expectedV.get(":, :, :{}", expectedV.getShape().get(2) - 6).concat(v, 2);
                }
                try (NDManager scope = m.newSubManager()) {
                    cache.append(0, k.mul(-1), v.mul(-1), scope); // another layer, its own buffers
                    NDList full = cache.append(1, k, v, scope);
                    assertEquals(expectedK.getShape(), full.get(0).getShape(), "step " + i);
                    if (i % 97 == 0 || i == steps.length - 1 || i == 500) {
                        assertArrayEquals(expectedK.toFloatArray(), full.get(0).toFloatArray(), "keys at step " + i);
                        assertArrayEquals(expectedV.toFloatArray(), full.get(1).toFloatArray(), "values at step " + i);
                    }
                    if (i >= 505 && i <= 525) { // a view held while extra steps grow the buffers (at 551 positions)
                        long before = cache.length();
                        NDArray copy = full.get(0).duplicate();
                        for (int j = 0; j < 5; j++) {
                            cache.append(1, k, v, scope);
                        }
                        assertArrayEquals(copy.toFloatArray(), full.get(0).toFloatArray(), "a view across a growth, step " + i);
                        cache.truncate(before);
                    }
                }
            }
            assertEquals(expectedK.getShape().get(2), cache.length());
        }
    }
}
