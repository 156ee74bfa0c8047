package dev.eaglespark.collective;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.regex.Pattern;

/**
 * NCCL's C API, as far as {@link NcclCollective} uses it, bound through JNA (on the classpath
 * already: DJL reaches the CUDA runtime with it). By default the NCCL that DJL's libtorch links
 * statically into {@code libtorch_cuda.so} and exports (2.21.5 in the CUDA 12.4 build of libtorch
 * 2.5.1): loaded wherever DJL runs on a GPU, and the same build on every node. The system property
 * {@value #PROPERTY} or the environment variable {@value #ENV} names another {@code libnccl.so.2}
 * instead (a newer NCCL, the node's own); every rank must then load the same version.
 */
final class NcclLibrary {
    static final String PROPERTY = "eaglespark.nccl.library";
    static final String ENV = "EAGLESPARK_NCCL_LIBRARY";
    /** The oldest NCCL whose non-blocking communicators and abort this code relies on. */
    static final int MIN_VERSION = 21800;

    static final int SUCCESS = 0;
    static final int IN_PROGRESS = 7;
    static final int INT8 = 0;
    static final int INT32 = 2;
    static final int FLOAT16 = 6;
    static final int FLOAT32 = 7;
    static final int SUM = 0;
    static final int UNIQUE_ID_BYTES = 128;

    static final Pattern LIBTORCH_CUDA = Pattern.compile("libtorch_cuda\\.so");
    private static final String[] SYMBOLS = {"ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRankConfig",
        "ncclCommGetAsyncError", "ncclCommAbort", "ncclGroupStart", "ncclGroupEnd", "ncclAllReduce", "ncclAllGather",
        "ncclBroadcast", "ncclGetErrorString", "ncclGetLastError"};

    /** The functions, by their C names; every one returns an {@code ncclResult_t} unless it says otherwise. */
    interface Api extends Library {
        int ncclGetVersion(IntByReference version);

        int ncclGetUniqueId(Pointer uniqueId);

        int ncclCommInitRankConfig(PointerByReference comm, int nranks, UniqueId commId, int rank, Pointer config);

        int ncclCommGetAsyncError(Pointer comm, IntByReference state);

        int ncclCommAbort(Pointer comm);

        int ncclGroupStart();

        int ncclGroupEnd();

        int ncclAllReduce(Pointer send, Pointer recv, long count, int datatype, int op, Pointer comm, Pointer stream);

        int ncclAllGather(Pointer send, Pointer recv, long sendCount, int datatype, Pointer comm, Pointer stream);

        int ncclBroadcast(Pointer send, Pointer recv, long count, int datatype, int root, Pointer comm, Pointer stream);

        String ncclGetErrorString(int result);

        String ncclGetLastError(Pointer comm);
    }

    /** {@code ncclUniqueId}, which ncclCommInitRankConfig takes by value: 128 opaque bytes. */
    @Structure.FieldOrder("internal")
    public static final class UniqueId extends Structure implements Structure.ByValue {
        public byte[] internal = new byte[UNIQUE_ID_BYTES];

        public UniqueId() {}

        UniqueId(byte[] bytes) {
            if (bytes.length != UNIQUE_ID_BYTES) {
                throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, not "
                        + bytes.length);
            }
            internal = bytes.clone();
        }
    }

    private static NcclLibrary loaded;

    final Api api;
    /** NCCL_VERSION_CODE, e.g. 22105 for 2.21.5. */
    final int version;
    /** Where the functions come from (a path). */
    final String source;

    private NcclLibrary(Api api, int version, String source) {
        this.api = api;
        this.version = version;
        this.source = source;
    }

    /** This process's NCCL, loaded on first use; a {@link CollectiveException} says why it cannot be. */
    static synchronized NcclLibrary load() {
        if (loaded != null) {
            return loaded;
        }
        String override = System.getProperty(PROPERTY, System.getenv(ENV));
        boolean own = override != null && !override.isBlank();
        String path = own ? override : LoadedLibraries.find(LIBTORCH_CUDA).orElseThrow(() -> new CollectiveException(
                "libtorch_cuda.so is not loaded: this process runs a CPU build of libtorch, which has no NCCL"));
        Api api;
        try {
            api = LoadedLibraries.bind(path, !own, Api.class, SYMBOLS);
        } catch (UnsatisfiedLinkError e) {
            throw new CollectiveException("no usable NCCL in " + path + (own ? " (" + PROPERTY + " / " + ENV + ")" : "")
                    + ": " + e.getMessage(), e);
        }
        IntByReference v = new IntByReference();
        int r = api.ncclGetVersion(v);
        if (r != SUCCESS) {
            throw new CollectiveException("ncclGetVersion in " + path + " failed: " + api.ncclGetErrorString(r));
        }
        if (v.getValue() < MIN_VERSION) {
            throw new CollectiveException("NCCL " + versionName(v.getValue()) + " in " + path + " is older than "
                    + versionName(MIN_VERSION));
        }
        loaded = new NcclLibrary(api, v.getValue(), path);
        return loaded;
    }

    /** "2.21.5" for 22105 (NCCL's encoding since 2.9: major * 10000 + minor * 100 + patch). */
    static String versionName(int code) {
        return (code / 10000) + "." + (code / 100 % 100) + "." + (code % 100);
    }

    /** A fresh unique id: rank 0 makes it, every rank joins with it (it also starts rank 0's bootstrap root). */
    byte[] uniqueId() {
        Memory id = new Memory(UNIQUE_ID_BYTES);
        int r = api.ncclGetUniqueId(id);
        if (r != SUCCESS) {
            throw new CollectiveException("ncclGetUniqueId failed: " + describe(r, null));
        }
        return id.getByteArray(0, UNIQUE_ID_BYTES);
    }

    /**
     * An {@code ncclConfig_t} asking for a non-blocking communicator: its calls return at once
     * (ncclInProgress) and {@link NcclCollective} polls them, so no thread ever blocks inside NCCL
     * and a silent peer can always be timed out and aborted. The struct is versioned by its size
     * and version fields; NCCL fills the fields this one leaves out with their defaults.
     */
    static Memory nonBlockingConfig() {
        int undefined = Integer.MIN_VALUE; // NCCL_CONFIG_UNDEF_INT
        Memory config = new Memory(32);
        config.setLong(0, 32); // size
        config.setInt(8, 0xcafebeef); // NCCL_API_MAGIC
        config.setInt(12, 21700); // version: blocking, cgaClusterSize, minCTAs, maxCTAs are known since 2.17
        config.setInt(16, 0); // blocking
        config.setInt(20, undefined);
        config.setInt(24, undefined);
        config.setInt(28, undefined);
        return config;
    }

    /** The result's name and, for a communicator, NCCL's last error message. */
    String describe(int result, Pointer comm) {
        String last = api.ncclGetLastError(comm);
        return api.ncclGetErrorString(result) + (last == null || last.isBlank() ? "" : " (" + last.trim() + ")");
    }
}
