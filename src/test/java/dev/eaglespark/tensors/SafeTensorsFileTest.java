package dev.eaglespark.tensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsFileTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsEveryDtype() throws IOException {
        float[] values = {0f, 1f, -2.5f, 3.1415927f, 65504f, 1e-8f, -7e4f};
        Path f = tmp.resolve("t.safetensors");
        try (OutputStream out = Files.newOutputStream(f)) {
            new SafeTensorsWriter().metadata("format", "pt")
                    .addFloats("f32", new long[] {7}, values, TensorDType.F32)
                    .addFloats("f16", new long[] {7}, values, TensorDType.F16)
                    .addFloats("bf16", new long[] {7}, values, TensorDType.BF16)
                    .addLongs("i64", new long[] {2, 2}, new long[] {1, -2, 3, Long.MAX_VALUE})
                    .addBools("mask", new boolean[] {true, false, true})
                    .writeTo(out);
        }
        try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
            assertEquals("pt", st.metadata().get("format"));
            assertArrayEquals(values, st.readFloats("f32"));
            float[] half = st.readFloats("f16");
            float[] bf = st.readFloats("bf16");
            for (int i = 0; i < values.length; i++) {
                assertEquals(Fp16.toFloat(Fp16.fromFloat(values[i])), half[i]);
                assertEquals(Bf16.toFloat(Bf16.fromFloat(values[i])), bf[i]);
            }
            assertEquals(Float.NEGATIVE_INFINITY, half[6], "-7e4 overflows fp16");
            assertEquals(1f, half[1]);
            assertEquals(3.140625f, bf[3]); // bf16 keeps 8 bits of mantissa
            assertArrayEquals(new long[] {1, -2, 3, Long.MAX_VALUE}, st.readLongs("i64"));
            assertArrayEquals(new long[] {1, 0, 1}, st.readLongs("mask"));
            assertArrayEquals(new long[] {2, 2}, st.info("i64").shape());
        }
    }

    @Test
    void fp16ConversionMatchesIeeeOnEveryHalfValue() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            float f = Fp16.toFloat(h);
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(h, Fp16.fromFloat(f), "round trip of half 0x" + Integer.toHexString(bits));
        }
        assertEquals(Fp16.fromFloat(1f), Fp16.fromFloat(1f + 0x1p-12f), "ties go to even");
    }

    @Test
    void readsTensorsPastTwoGigabytes() throws IOException {
        // A sparse file: a 3 GB tensor, then a small one whose bytes start past 2^31.
        long big = 3L << 30;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        Path f = tmp.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            raf.write(json);
            raf.seek(8 + json.length + big);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).array());
        }
        try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
            assertArrayEquals(new float[] {1.5f, -2f}, st.readFloats("tail"));
            assertEquals(0, st.map(st.info("big"), big - 16, 16).get(3));
            TensorFormatException e = assertThrows(TensorFormatException.class, () -> st.readLongs("big"));
            assertTrue(e.getMessage().contains("windows"), e.getMessage());
        }
    }

    @Test
    void clearErrorsForBrokenFiles() throws IOException {
        assertMessage(tmp.resolve("absent.safetensors"), "missing");
        Path tiny = Files.write(tmp.resolve("tiny.safetensors"), new byte[] {1, 2});
        assertMessage(tiny, "no header");
        Path badLen = Files.write(tmp.resolve("len.safetensors"),
                ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1 << 20).array());
        assertMessage(badLen, "header length");
        assertMessage(withHeader("not json", 0), "corrupt");
        assertMessage(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8),
                "truncated");
        assertMessage(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16),
                "needs 12 bytes");
        assertMessage(withHeader("{\"a\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16),
                "unsupported dtype C64");
        assertMessage(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16), "overlap");
    }

    private Path withHeader(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        return Files.write(Files.createTempFile(tmp, "h", ".safetensors"), b.array());
    }

    private static void assertMessage(Path f, String fragment) {
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafeTensorsFile.open(f).close());
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
    }
}
