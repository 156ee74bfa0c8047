package dev.eaglespark.runtime;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Structure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * A CUDA graph of libtorch's own making ({@code at::cuda::CUDAGraph}, the class behind PyTorch's
 * {@code torch.cuda.CUDAGraph}): the kernels that some TorchScript calls launch are recorded once
 * and then replayed as one launch, so a step of hundreds of small kernels costs the host a few
 * microseconds instead of the interpreter's and the launches' several microseconds per op. DJL
 * 0.32 binds no graph API, but libtorch_cuda.so exports the class's methods; they are called
 * here through JNA (a dependency of DJL's) by their C++ symbol names, with the object in memory
 * of our own. The class routes the capture's allocations to a private memory pool, so the
 * intermediate tensors' memory stays the graph's between replays.
 *
 * <p>What a replay reads and writes are the addresses the capture saw: the caller keeps its
 * inputs in tensors that it fills before each replay, and keeps the captured outputs. A C++
 * exception cannot cross JNA, so the preconditions libtorch checks are the caller's to keep: a
 * capture runs on a stream other than the device's default one ({@link CudaStreams}), and the
 * captured work must not wait for the host. Linux, x86-64, libtorch 2.5 (the symbols' names).
 *
 * <p>Threads: libtorch marks the device's random generator as capturing from a capture's begin to
 * its end, and every replay asserts that no capture is under way, aborting the process when one
 * is (several tasks of one executor decode on one GPU: measured). So a capture excludes every
 * replay and every other capture in the process, and a capture that failed (it never ends) stops
 * all graphs of the process: {@link #available()} turns false and a replay throws.
 */
public final class CudaGraph implements AutoCloseable {
    private static final String CLASS = "_ZN2at4cuda9CUDAGraph";
    /** Larger than sizeof(at::cuda::CUDAGraph) in libtorch 2.5 (about 150 bytes). */
    private static final long OBJECT_BYTES = 4096;
    /** cudaStreamCaptureModeRelaxed: nothing else in the process is restricted while capturing. */
    private static final int RELAXED = 2;

    /** A memory pool id ({@code MempoolId_t}, a pair of unsigned 64-bit numbers), returned by value. */
    @Structure.FieldOrder({"first", "second"})
    public static class Pool extends Structure implements Structure.ByValue {
        public long first;
        public long second;
    }

    private static volatile Functions functions;
    /** Captures and closes hold it alone, replays share it (see the class comment). */
    private static final ReadWriteLock LOCK = new ReentrantReadWriteLock();
    /** A capture failed and never ended: libtorch's generator stays capturing, so no graph may replay. */
    private static volatile boolean broken;

    private final Memory object;
    private boolean captured;
    private boolean closed;

    private CudaGraph() {
        this.object = new Memory(OBJECT_BYTES);
        object.clear();
        functions().constructor.invokeVoid(new Object[] {object});
    }

    /**
     * A new memory pool for graphs to share: their intermediate tensors then take the same
     * memory (safe when the graphs never run at once and each one's outputs are read before
     * another replays). A pool lives while a graph captured into it does.
     */
    public static Pool newPool() {
        return (Pool) functions().poolHandle.invoke(Pool.class, new Object[0]);
    }

    /**
     * The graph of what {@code work} launches on the calling thread's current stream, captured
     * into {@code pool}; the kernels do not run during the capture. Returns the graph and
     * {@code work}'s result (tensors in the pool: the outputs each replay writes again). When
     * {@code work} throws, the stream stays capturing (libtorch would abort the process on the
     * capture's end): the caller must move the thread to a fresh stream and not capture again.
     */
    public static <T> Captured<T> capture(Pool pool, Supplier<T> work) {
        LOCK.writeLock().lock();
        try {
            requireWhole();
            CudaGraph graph = new CudaGraph();
            functions().captureBegin.invokeVoid(new Object[] {graph.object, pool.first, pool.second, RELAXED});
            T result;
            try {
                result = work.get();
            } catch (RuntimeException | Error e) {
                broken = true;
                throw e;
            }
            functions().captureEnd.invokeVoid(new Object[] {graph.object});
            graph.captured = true;
            return new Captured<>(graph, result);
        } finally {
            LOCK.writeLock().unlock();
        }
    }

    /** A graph and what its captured work returned. */
    public record Captured<T>(CudaGraph graph, T result) {}

    /** Runs the captured kernels again, on the calling thread's current stream. */
    public void replay() {
        LOCK.readLock().lock();
        try {
            if (!captured || closed) {
                throw new IllegalStateException("replay of a graph that is closed or was never captured");
            }
            requireWhole();
            functions().replay.invokeVoid(new Object[] {object});
        } finally {
            LOCK.readLock().unlock();
        }
    }

    /** Frees the graph and its share of the pool (after the caller closed the captured outputs). */
    @Override
    public void close() {
        LOCK.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                functions().destructor.invokeVoid(new Object[] {object});
                object.close();
            }
        } finally {
            LOCK.writeLock().unlock();
        }
    }

    private static void requireWhole() {
        if (broken) {
            throw new IllegalStateException("a CUDA graph capture of this process failed: no graph may run");
        }
    }

    /**
     * Whether the graph API can be reached: libtorch_cuda.so is loaded in this process and
     * exports the class, and no capture of this process failed. On the CPU build, false.
     */
    public static boolean available() {
        if (broken) {
            return false;
        }
        try {
            functions();
            return true;
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return false;
        }
    }

    private static Functions functions() {
        Functions f = functions;
        if (f == null) {
            synchronized (CudaGraph.class) {
                if (functions == null) {
                    // RTLD_LAZY alone: the library is already loaded; its symbols stay out of the global scope
                    functions = new Functions(NativeLibrary.getInstance(loadedLibrary("libtorch_cuda.so"),
                            java.util.Map.of(com.sun.jna.Library.OPTION_OPEN_FLAGS, 1)));
                }
                f = functions;
            }
        }
        return f;
    }

    /** The path of a shared library this process has loaded (DJL loads libtorch from its own cache). */
    static String loadedLibrary(String name) {
        try {
            List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
            return maps.stream().map(l -> l.substring(l.indexOf('/') < 0 ? l.length() : l.indexOf('/')))
                    .filter(p -> p.endsWith("/" + name)).findFirst()
                    .orElseThrow(() -> new IllegalStateException(name + " is not loaded in this process"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The class's methods in libtorch_cuda.so. */
    private static final class Functions {
        final Function constructor;
        final Function destructor;
        final Function captureBegin;
        final Function captureEnd;
        final Function replay;
        final Function poolHandle;

        Functions(NativeLibrary torchCuda) {
            constructor = torchCuda.getFunction(CLASS + "C1Ev");
            destructor = torchCuda.getFunction(CLASS + "D1Ev");
            captureBegin = torchCuda.getFunction(CLASS + "13capture_beginESt4pairIyyE21cudaStreamCaptureMode");
            captureEnd = torchCuda.getFunction(CLASS + "11capture_endEv");
            replay = torchCuda.getFunction(CLASS + "6replayEv");
            poolHandle = torchCuda.getFunction("_ZN2at4cuda17graph_pool_handleEv");
        }
    }
}
