package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Causal attention through PyTorch's {@code scaled_dot_product_attention} (flash attention on
 * the GPU: the [T, T] scores are never written to memory). DJL 0.32 has no binding for it, but
 * it loads TorchScript modules: this class writes a one-function TorchScript archive (source
 * code plus a two-entry pickle, no weights) in memory and loads it once per process.
 */
public final class FusedAttention {
    private static final String CODE = """
            class FusedAttention(Module):
              __parameters__ = []
              __buffers__ = []
              training : bool
              def forward(self: __torch__.FusedAttention,
                  q: Tensor,
                  k: Tensor,
                  v: Tensor) -> Tensor:
                groups = torch.size(q, 1) // torch.size(k, 1)
                if groups > 1:
                  k = torch.repeat_interleave(k, groups, 1)
                  v = torch.repeat_interleave(v, groups, 1)
                out = torch.scaled_dot_product_attention(q, k, v, None, 0., True)
                return torch.transpose(out, 1, 2)
            """;
    private static volatile PtSymbolBlock module;

    private FusedAttention() {}

    /**
     * Causal attention over right-padded sequences (padding keys come after every real query's
     * position, so causality alone hides them; padded query rows are garbage, as with the bias).
     *
     * @param q [B, heads, T, d], rotated
     * @param k [B, kvHeads, T, d]
     * @param v [B, kvHeads, T, d]
     * @return [B, T, heads*d] in q's manager
     */
    public static NDArray causal(NDArray q, NDArray k, NDArray v) {
        long[] s = q.getShape().getShape();
        NDList out = IValueUtils.forward(module(q), new NDList(q, k, v), false);
        return out.singletonOrThrow().reshape(s[0], s[2], s[1] * s[3]);
    }

    private static PtSymbolBlock module(NDArray any) {
        PtSymbolBlock m = module;
        if (m == null) {
            synchronized (FusedAttention.class) {
                if (module == null) {
                    // The module holds no tensors: one instance serves every device and manager.
                    try {
                        module = JniUtils.loadModule(root(any), new ByteArrayInputStream(archive()), false, false);
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot load the fused attention module", e);
                    }
                }
                m = module;
            }
        }
        return m;
    }

    private static PtNDManager root(NDArray any) {
        ai.djl.ndarray.NDManager m = any.getManager();
        while (m.getParentManager() != null) {
            m = m.getParentManager();
        }
        return (PtNDManager) m;
    }

    /** The TorchScript archive: version, the module's pickled state, constants and code. */
    static byte[] archive() throws IOException {
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            put(z, "fused_attention/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            put(z, "fused_attention/data.pkl", moduleState());
            put(z, "fused_attention/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}); // ()
            put(z, "fused_attention/code/__torch__.py", CODE.getBytes(StandardCharsets.UTF_8));
        }
        return zip.toByteArray();
    }

    /** Pickle (protocol 2) of a __torch__.FusedAttention object whose state is {"training": False}. */
    private static byte[] moduleState() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2); // PROTO 2
        b.writeBytes("c__torch__\nFusedAttention\n".getBytes(StandardCharsets.US_ASCII)); // GLOBAL
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
