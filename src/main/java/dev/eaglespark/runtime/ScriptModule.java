package dev.eaglespark.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript function that DJL can call: the source of one module class with a
 * {@code forward} method and no parameters, written into a TorchScript archive (version, the
 * pickled module state, constants and code) in memory and loaded once per process. It reaches
 * what DJL 0.32 binds no Java call for (fused attention, pinned host memory, copies into existing
 * tensors) and runs a whole block of ops in one call through the JNI, whose per-op cost (tens of
 * microseconds) otherwise bounds small ops on the GPU.
 */
public final class ScriptModule {
    private static final Map<String, ScriptModule> LOADED = new ConcurrentHashMap<>();

    private final String className;
    private final String code;
    private volatile PtSymbolBlock block;

    private ScriptModule(String className, String code) {
        this.className = className;
        this.code = code;
    }

    /**
     * The module of class {@code className} whose methods are {@code methods}: TorchScript's
     * serialized source, typed {@code def}s indented by two spaces, {@code forward} among them,
     * {@code self} typed as {@code __torch__.<className>}. One instance per distinct source.
     */
    public static ScriptModule of(String className, String methods) {
        String code = "class " + className + "(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
                + "  training : bool\n" + methods;
        return LOADED.computeIfAbsent(className + "\n" + code, k -> new ScriptModule(className, code));
    }

    /** forward(inputs) without autograd; the outputs are owned by the first input's manager. */
    public NDList forward(NDList inputs) {
        return forward(inputs, false);
    }

    /**
     * forward(inputs); with {@code recordGradients} its ops join the autograd graph (when the
     * thread's grad mode is on and an input requires gradients), so a later backward reaches
     * the inputs through it.
     */
    public NDList forward(NDList inputs, boolean recordGradients) {
        // Plain interpretation, op by op as written: the optimizing executor differentiates
        // symbolically, and its log_softmax gradient fails on half inputs with a float dtype.
        return run(inputs, recordGradients, false);
    }

    /**
     * forward(inputs) without autograd, through TorchScript's optimizing executor when the inputs
     * are on a GPU: the first call with a new input shape is profiled, later ones run chains of
     * elementwise ops (norm scaling, casts, SwiGLU, rotary) as kernels generated for them
     * (libtorch's TensorExpr fuser), each one pass over memory instead of one per op. After two
     * shapes it compiles shape-generic kernels. On the CPU that fuser is off; the plain
     * interpreter runs.
     */
    public NDList forwardFused(NDList inputs) {
        return run(inputs, false, fuses(inputs.head()));
    }

    /**
     * Whether calls on {@code any}'s device go through the optimizing executor: on a GPU, unless
     * {@code -Deaglespark.jit-fuser=false} keeps every call on the plain interpreter. That executor
     * runs a new shape's first calls op by op (profiling) and later ones as fused kernels, which
     * round fp16 differently: off, the same inputs give the same bits whatever ran before (slower).
     * Off holds only from a module's first call: once libtorch's executor has made an optimized plan
     * it keeps running it, whatever the setting (GpuDecodeGraphCheck shows it).
     */
    static boolean fuses(NDArray any) {
        return any.getDevice().isGpu() && !"false".equals(System.getProperty("eaglespark.jit-fuser"));
    }

    private NDList run(NDList inputs, boolean recordGradients, boolean optimize) {
        PtSymbolBlock b = block(inputs.head());
        JniUtils.setGraphExecutorOptimize(optimize); // a thread-local setting: set at every call
        return IValueUtils.forward(b, inputs, recordGradients);
    }

    /**
     * forward(args) without autograd, where each argument is an NDArray or a collection of them
     * (a {@code List[Tensor]} in the script; it must not be empty). DJL passes inputs named
     * {@code name[]} as one list, so the arrays carry such names during the call and get their
     * own back after it. The outputs are owned by the first array's manager.
     */
    public NDList forwardArgs(Object... args) {
        return forwardArgs(args, false);
    }

    /** {@link #forwardArgs(Object...)} whose ops join the autograd graph (see {@link #forward(NDList, boolean)}). */
    public NDList forwardArgsRecording(Object... args) {
        return forwardArgs(args, true);
    }

    private NDList forwardArgs(Object[] args, boolean recordGradients) {
        NDList in = new NDList();
        Map<NDArray, String> names = new IdentityHashMap<>();
        try {
            for (int i = 0; i < args.length; i++) {
                if (args[i] instanceof NDArray a) {
                    in.add(a);
                    continue;
                }
                for (Object o : (Collection<?>) args[i]) {
                    NDArray a = (NDArray) o;
                    names.put(a, a.getName());
                    a.setName("list" + i + "[]");
                    in.add(a);
                }
            }
            return forward(in, recordGradients);
        } finally {
            names.forEach(NDArray::setName);
        }
    }

    /**
     * Method {@code method} on values built by the caller (tensors, lists of tensors, numbers),
     * without autograd, through the optimizing executor when {@code any} (the device's witness)
     * is on a GPU, as {@link #forwardFused}. A list built once (a model's weights, one list per
     * kind across the layers) is passed again at every call, where an {@link NDList} would be
     * converted tensor by tensor through the JNI at each one. The caller closes the result.
     */
    public IValue runValues(NDArray any, String method, IValue... inputs) {
        PtSymbolBlock b = block(any);
        JniUtils.setGraphExecutorOptimize(fuses(any));
        return IValueUtils.runMethod(b, method, inputs);
    }

    /** A single-output forward. */
    public NDArray call(NDArray... inputs) {
        return forward(new NDList(inputs)).singletonOrThrow();
    }

    private PtSymbolBlock block(NDArray any) {
        PtSymbolBlock b = block;
        if (b == null) {
            synchronized (this) {
                if (block == null) {
                    // The module holds no tensors: one instance serves every device and manager.
                    try {
                        block = JniUtils.loadModule(root(any), new ByteArrayInputStream(archive()), false, false);
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot load the TorchScript module " + className, e);
                    }
                }
                b = block;
            }
        }
        return b;
    }

    private static PtNDManager root(NDArray any) {
        NDManager m = any.getManager();
        while (m.getParentManager() != null) {
            m = m.getParentManager();
        }
        return (PtNDManager) m;
    }

    /** The TorchScript archive: version, the module's pickled state, constants and code. */
    byte[] archive() throws IOException {
        String dir = className.toLowerCase(java.util.Locale.ROOT);
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            put(z, dir + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            put(z, dir + "/data.pkl", moduleState());
            put(z, dir + "/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}); // ()
            put(z, dir + "/code/__torch__.py", code.getBytes(StandardCharsets.UTF_8));
        }
        return zip.toByteArray();
    }

    /** Pickle (protocol 2) of a __torch__.<className> object whose state is {"training": False}. */
    private byte[] moduleState() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2); // PROTO 2
        b.writeBytes(("c__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII)); // GLOBAL
        b.write(')'); // EMPTY_TUPLE
        b.write(0x81); // NEWOBJ
        b.write('}'); // EMPTY_DICT
        byte[] key = "training".getBytes(StandardCharsets.US_ASCII);
        b.write('X'); // BINUNICODE, 4-byte little-endian length
        b.write(key.length);
        b.write(0);
        b.write(0);
        b.write(0);
        b.writeBytes(key);
        b.write(0x89); // NEWFALSE
        b.write('s'); // SETITEM
        b.write('b'); // BUILD
        b.write('.'); // STOP
        return b.toByteArray();
    }

    private static void put(ZipOutputStream z, String name, byte[] data) throws IOException {
        // TorchScript reads its archives' entries uncompressed.
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }
}
