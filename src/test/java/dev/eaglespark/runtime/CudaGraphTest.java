package dev.eaglespark.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * What of the CUDA graph binding the CPU build can show: libtorch's libraries are found where the
 * process loaded them, and without libtorch_cuda.so the API reports itself unavailable rather
 * than failing (graphs themselves are checked on the GPU: GpuDecodeGraphCheck).
 */
class CudaGraphTest {
    @Test
    void findsTheLibrariesThisProcessLoaded() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) { // loads libtorch
            m.zeros(new ai.djl.ndarray.types.Shape(1));
            String cpu = CudaGraph.loadedLibrary("libtorch_cpu.so");
            assertTrue(cpu.endsWith("/libtorch_cpu.so") && Files.isRegularFile(Path.of(cpu)), cpu);
            assertThrows(IllegalStateException.class, () -> CudaGraph.loadedLibrary("libtorch_nowhere.so"));
        }
    }

    /** The technique CudaGraph relies on, on the CPU build: a libtorch C++ function called by its symbol. */
    @Test
    void callsLibtorchByItsCxxSymbols() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            m.zeros(new ai.djl.ndarray.types.Shape(1));
            com.sun.jna.NativeLibrary torch = com.sun.jna.NativeLibrary.getInstance(
                    CudaGraph.loadedLibrary("libtorch_cpu.so"), java.util.Map.of(com.sun.jna.Library.OPTION_OPEN_FLAGS, 1));
            int viaSymbol = torch.getFunction("_ZN2at15get_num_threadsEv").invokeInt(new Object[0]); // at::get_num_threads()
            assertEquals(ai.djl.pytorch.jni.JniUtils.getNumThreads(), viaSymbol);
        }
    }

    @Test
    void unavailableWithoutTheCudaBuild() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            m.zeros(new ai.djl.ndarray.types.Shape(1));
            assertFalse(CudaGraph.available(), "this build's libtorch has no CUDA");
        }
    }
}
