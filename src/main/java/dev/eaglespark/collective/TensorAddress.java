package dev.eaglespark.collective;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;

/**
 * The address of a contiguous tensor's first element, in the memory of its device: what NCCL
 * reduces in place. DJL 0.32 binds no call for it, and TorchScript in libtorch 2.5 has no
 * {@code data_ptr} operator. DJL's native {@code torchDirectByteBuffer} wraps
 * {@code tensor.data_ptr()} in a direct buffer without looking at the device (DJL itself only
 * calls it for host tensors); its address is the pointer, and the buffer is never read. It
 * refuses tensors of 2 GiB and more: take the address of each bucket, a view of that size.
 */
public final class TensorAddress {
    private static final Object LIB;
    private static final Method DIRECT_BUFFER;

    static {
        try {
            Class<?> library = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
            Field lib = library.getDeclaredField("LIB");
            lib.setAccessible(true);
            LIB = lib.get(null);
            DIRECT_BUFFER = library.getDeclaredMethod("torchDirectByteBuffer", long.class);
            DIRECT_BUFFER.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError("DJL's PyTorch engine has changed: " + e);
        }
    }

    private TensorAddress() {}

    /** The address of {@code array}'s data (contiguous, non-empty, under 2 GiB). */
    public static long of(NDArray array) {
        if (array.size() == 0) {
            throw new IllegalArgumentException("an empty tensor has no address");
        }
        try {
            ByteBuffer view = (ByteBuffer) DIRECT_BUFFER.invoke(LIB, ((PtNDArray) array).getHandle());
            return Pointer.nativeValue(Native.getDirectBufferPointer(view));
        } catch (InvocationTargetException e) {
            throw new IllegalArgumentException("no address of " + array.getShape() + " " + array.getDataType() + ": "
                    + e.getCause().getMessage(), e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
