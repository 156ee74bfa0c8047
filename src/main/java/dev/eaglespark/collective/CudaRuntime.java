package dev.eaglespark.collective;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The few CUDA runtime functions {@link NcclCollective} needs (its stream, events, a scratch
 * buffer), from the runtime libtorch already loaded ({@code libcudart-<hash>.so.12} beside
 * libtorch_cuda.so), through JNA. Another runtime may be loaded too (DJL looks for a system one
 * to count GPUs): the one beside libtorch_cuda.so wins.
 */
final class CudaRuntime {
    static final int SUCCESS = 0;
    static final int NOT_READY = 600;
    static final int HOST_TO_DEVICE = 1;
    static final int DEVICE_TO_HOST = 2;
    private static final int STREAM_NON_BLOCKING = 1;
    private static final int EVENT_DISABLE_TIMING = 2;
    private static final Pattern CUDART = Pattern.compile("libcudart(-[0-9a-f]+)?\\.so(\\.\\d+)*");
    private static final String[] SYMBOLS = {"cudaGetDevice", "cudaSetDevice", "cudaMalloc", "cudaFree",
        "cudaMemcpyAsync", "cudaStreamCreateWithFlags", "cudaStreamDestroy", "cudaStreamWaitEvent",
        "cudaEventCreateWithFlags", "cudaEventRecord", "cudaEventQuery", "cudaEventDestroy", "cudaDeviceSynchronize",
        "cudaGetErrorString", "cudaDeviceGetPCIBusId"};

    /** The functions, by their C names; each returns a {@code cudaError_t} unless it says otherwise. */
    interface Api extends Library {
        int cudaGetDevice(IntByReference device);

        int cudaSetDevice(int device);

        int cudaMalloc(PointerByReference pointer, long bytes);

        int cudaFree(Pointer pointer);

        int cudaMemcpyAsync(Pointer dst, Pointer src, long bytes, int kind, Pointer stream);

        int cudaStreamCreateWithFlags(PointerByReference stream, int flags);

        int cudaStreamDestroy(Pointer stream);

        int cudaStreamWaitEvent(Pointer stream, Pointer event, int flags);

        int cudaEventCreateWithFlags(PointerByReference event, int flags);

        int cudaEventRecord(Pointer event, Pointer stream);

        int cudaEventQuery(Pointer event);

        int cudaEventDestroy(Pointer event);

        int cudaDeviceSynchronize();

        String cudaGetErrorString(int error);

        int cudaDeviceGetPCIBusId(byte[] busId, int length, int device);
    }

    private static CudaRuntime loaded;

    final Api api;
    final String source;

    private CudaRuntime(Api api, String source) {
        this.api = api;
        this.source = source;
    }

    static synchronized CudaRuntime load() {
        if (loaded == null) {
            List<String> runtimes = LoadedLibraries.findAll(CUDART);
            if (runtimes.isEmpty()) {
                throw new CollectiveException("no CUDA runtime is loaded: libtorch runs without CUDA in this process");
            }
            Optional<Path> torch = LoadedLibraries.find(NcclLibrary.LIBTORCH_CUDA).map(p -> Path.of(p).getParent());
            String path = runtimes.stream().filter(p -> torch.isPresent() && Path.of(p).getParent().equals(torch.get()))
                    .findFirst().orElse(runtimes.get(0));
            try {
                loaded = new CudaRuntime(LoadedLibraries.bind(path, true, Api.class, SYMBOLS), path);
            } catch (UnsatisfiedLinkError e) {
                throw new CollectiveException("the CUDA runtime " + path + " lacks a function: " + e.getMessage(), e);
            }
        }
        return loaded;
    }

    /** Throws unless {@code error} is cudaSuccess. */
    void check(int error, String what) {
        if (error != SUCCESS) {
            throw new CollectiveException("CUDA error in " + what + ": " + api.cudaGetErrorString(error) + " (" + error
                    + ")");
        }
    }

    int currentDevice() {
        IntByReference d = new IntByReference();
        check(api.cudaGetDevice(d), "cudaGetDevice");
        return d.getValue();
    }

    /** A stream that does not wait for the legacy default stream's work (NCCL's own). */
    Pointer newStream() {
        PointerByReference s = new PointerByReference();
        check(api.cudaStreamCreateWithFlags(s, STREAM_NON_BLOCKING), "cudaStreamCreateWithFlags");
        return s.getValue();
    }

    Pointer newEvent() {
        PointerByReference e = new PointerByReference();
        check(api.cudaEventCreateWithFlags(e, EVENT_DISABLE_TIMING), "cudaEventCreateWithFlags");
        return e.getValue();
    }

    /** The GPU's PCI bus id ("0000:3b:00.0"): which physical GPU a CUDA device index is. */
    String pciBusId(int device) {
        byte[] id = new byte[32];
        check(api.cudaDeviceGetPCIBusId(id, id.length, device), "cudaDeviceGetPCIBusId(" + device + ")");
        return com.sun.jna.Native.toString(id);
    }

    Pointer malloc(long bytes) {
        PointerByReference p = new PointerByReference();
        check(api.cudaMalloc(p, bytes), "cudaMalloc of " + bytes + " bytes");
        return p.getValue();
    }
}
