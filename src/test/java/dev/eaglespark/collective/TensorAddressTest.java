package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

/**
 * The address NCCL gets for a tensor, checked on host tensors, where it can be read: it is where
 * libtorch keeps the data (what DJL's own direct view of the tensor reads), each bucket's view
 * starts its offset further on, and writing there changes the tensor.
 */
class TensorAddressTest {
    @Test
    void bucketViewsStartAtTheirOffsetInTheFlatTensor() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray flat = m.arange(0f, 1000f);
            long base = TensorAddress.of(flat);
            assertEquals(Pointer.nativeValue(Native.getDirectBufferPointer(flat.toByteBuffer(true))), base);
            NDArray bucket = flat.get(new NDIndex("{}:{}", 300, 700));
            assertEquals(base + 300 * 4, TensorAddress.of(bucket));
            NDArray half = m.zeros(new Shape(64), DataType.FLOAT16);
            assertEquals(TensorAddress.of(half) + 10 * 2, TensorAddress.of(half.get(new NDIndex("10:"))));

            new Pointer(TensorAddress.of(bucket)).write(0, new float[] {-1, -2}, 0, 2);
            assertArrayEquals(new float[] {299, -1, -2, 302}, flat.get(new NDIndex("299:303")).toFloatArray());
        }
    }

    @Test
    void emptyAndStridedTensorsHaveNoAddress() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            assertThrows(IllegalArgumentException.class, () -> TensorAddress.of(m.zeros(new Shape(0))));
            NDArray columns = m.zeros(new Shape(4, 4)).get(new NDIndex(":, 1"));
            assertThrows(IllegalArgumentException.class, () -> TensorAddress.of(columns));
        }
    }
}
