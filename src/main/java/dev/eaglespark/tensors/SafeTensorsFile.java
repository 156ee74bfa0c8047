package dev.eaglespark.tensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file read through memory maps: the header is parsed eagerly and checked for
 * consistency, tensor bytes are mapped on demand in windows below 2 GB, so shards of any size
 * work (DJL's own decoder stops at 2 GB).
 */
public final class SafeTensorsFile implements Closeable {
    /** Largest window mapped at once; big tensors are read in several. */
    public static final int MAX_WINDOW = 1 << 30;
    private static final long MAX_HEADER = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new TensorFormatException("missing safetensors file " + path);
        } catch (IOException e) {
            throw new TensorFormatException("cannot open " + path + ": " + e.getMessage(), e);
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException | IOException e) {
            closeQuietly(ch);
            if (e instanceof TensorFormatException tfe) {
                throw tfe;
            }
            throw new TensorFormatException(path + ": corrupt safetensors file: " + e.getMessage(), e);
        }
    }

    private static SafeTensorsFile parse(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new TensorFormatException(path + ": corrupt safetensors file (" + size + " bytes, no header)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
            throw new TensorFormatException(path + ": corrupt safetensors file (header length " + headerLen
                    + ", file length " + size + ")");
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLen);
        readFully(ch, header, 8);
        JsonNode root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
        if (root == null || !root.isObject()) {
            throw new TensorFormatException(path + ": corrupt safetensors header (not a JSON object)");
        }
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.put(e.getKey(), parseEntry(path, e.getKey(), e.getValue(), dataLen));
        }
        checkNoOverlap(path, tensors.values());
        return new SafeTensorsFile(path, ch, dataStart, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode node, long dataLen) {
        String where = path + ": tensor " + name;
        JsonNode dt = node.get("dtype");
        JsonNode sh = node.get("shape");
        JsonNode off = node.get("data_offsets");
        if (dt == null || sh == null || off == null || !sh.isArray() || !off.isArray() || off.size() != 2) {
            throw new TensorFormatException(where + ": corrupt header entry " + node);
        }
        TensorDType dtype = TensorDType.parse(dt.asText(), where);
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = sh.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw new TensorFormatException(where + ": bad shape " + sh);
            }
        }
        long begin = off.get(0).asLong(-1);
        long end = off.get(1).asLong(-1);
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        if (begin < 0 || end < begin || end > dataLen) {
            throw new TensorFormatException(where + ": data offsets [" + begin + ", " + end
                    + ") outside the data section of " + dataLen + " bytes (truncated file?)");
        }
        if (info.numel() * dtype.bytes() != end - begin) {
            throw new TensorFormatException(where + ": " + dtype + info.shapeString() + " needs "
                    + info.numel() * dtype.bytes() + " bytes but the header gives " + (end - begin));
        }
        return info;
    }

    private static void checkNoOverlap(Path path, Iterable<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>();
        infos.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).begin() < sorted.get(i - 1).end()) {
                throw new TensorFormatException(path + ": corrupt header, tensors " + sorted.get(i - 1).name()
                        + " and " + sorted.get(i).name() + " overlap");
            }
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new TensorFormatException(path + ": no tensor named " + name);
        }
        return info;
    }

    /** Maps {@code length} bytes of a tensor starting at {@code offset} within it (little-endian). */
    public ByteBuffer map(TensorInfo info, long offset, int length) {
        if (offset < 0 || offset + length > info.byteLength()) {
            throw new IndexOutOfBoundsException(info.name() + ": bytes [" + offset + ", " + (offset + length)
                    + ") of " + info.byteLength());
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin() + offset, length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new TensorFormatException(path + ": cannot map " + info.name() + ": " + e.getMessage(), e);
        }
    }

    /** The whole tensor, widened to float (F64, F32, F16, BF16); for tensors below 2^31 elements. */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        ByteBuffer bytes = whole(info);
        float[] out = new float[Math.toIntExact(info.numel())];
        TensorDecoding.toFloats(info.dtype(), bytes, out, 0, out.length, name);
        return out;
    }

    /** The whole tensor as longs (I64, I32, I8, U8, BOOL). */
    public long[] readLongs(String name) {
        TensorInfo info = info(name);
        ByteBuffer bytes = whole(info);
        long[] out = new long[Math.toIntExact(info.numel())];
        TensorDecoding.toLongs(info.dtype(), bytes, out, name);
        return out;
    }

    private ByteBuffer whole(TensorInfo info) {
        if (info.byteLength() > MAX_WINDOW) {
            throw new TensorFormatException(info.name() + " is " + info.byteLength()
                    + " bytes: read it in windows with map()");
        }
        return map(info, 0, (int) info.byteLength());
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new TensorFormatException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // Read-only channel: nothing to flush.
        }
    }
}
