package dev.eaglespark.tensors;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a safetensors file in memory-light form: tensors are encoded when added, then
 * {@link #writeTo} streams header and data to any output stream (local file, HDFS, S3).
 */
public final class SafeTensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(String name, TensorDType dtype, long[] shape, byte[] data) {}

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds float data stored as F32, F16 or BF16 (rounded to nearest even). */
    public SafeTensorsWriter addFloats(String name, long[] shape, float[] data, TensorDType dtype) {
        checkCount(name, shape, data.length);
        ByteBuffer b = ByteBuffer.allocate(data.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : data) {
            switch (dtype) {
                case F32 -> b.putFloat(f);
                case F16 -> b.putShort(Fp16.fromFloat(f));
                case BF16 -> b.putShort(Bf16.fromFloat(f));
                default -> throw new IllegalArgumentException(name + ": " + dtype + " is not a float dtype");
            }
        }
        return add(name, dtype, shape, b.array());
    }

    public SafeTensorsWriter addLongs(String name, long[] shape, long[] data) {
        checkCount(name, shape, data.length);
        ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : data) {
            b.putLong(v);
        }
        return add(name, TensorDType.I64, shape, b.array());
    }

    public SafeTensorsWriter addBools(String name, boolean[] data) {
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) {
            bytes[i] = (byte) (data[i] ? 1 : 0);
        }
        return add(name, TensorDType.BOOL, new long[] {data.length}, bytes);
    }

    /** Adds an NDArray as it is held (FLOAT32 as F32, INT64 as I64, ...). */
    public SafeTensorsWriter addArray(String name, NDArray array) {
        TensorDType dtype = TensorDType.of(array.getDataType());
        ByteBuffer src = array.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        byte[] bytes = new byte[src.remaining()];
        src.get(bytes);
        return add(name, dtype, array.getShape().getShape(), bytes);
    }

    /** Adds a floating NDArray converted to {@code dtype} (F32, F16 or BF16). */
    public SafeTensorsWriter addArray(String name, NDArray array, TensorDType dtype) {
        float[] values = array.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        return addFloats(name, array.getShape().getShape(), values, dtype);
    }

    private SafeTensorsWriter add(String name, TensorDType dtype, long[] shape, byte[] data) {
        for (Entry e : entries) {
            if (e.name.equals(name)) {
                throw new IllegalArgumentException("tensor " + name + " added twice");
            }
        }
        entries.add(new Entry(name, dtype, shape.clone(), data));
        return this;
    }

    public void writeTo(OutputStream out) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode node = header.putObject(e.name);
            node.put("dtype", e.dtype.name());
            var shape = node.putArray("shape");
            for (long d : e.shape) {
                shape.add(d);
            }
            var offsets = node.putArray("data_offsets");
            offsets.add(offset);
            offset += e.data.length;
            offsets.add(offset);
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // data starts 8-aligned, padding is spaces as the spec asks
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        out.write(len.array());
        out.write(json);
        for (int i = json.length; i < padded; i++) {
            out.write(' ');
        }
        for (Entry e : entries) {
            out.write(e.data);
        }
        out.flush();
    }

    private static void checkCount(String name, long[] shape, int count) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != count) {
            throw new IllegalArgumentException(name + ": shape holds " + n + " values, got " + count);
        }
    }
}
