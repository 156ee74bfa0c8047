package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/**
 * Corrupt archives and records that used to pass silently: gzip files with bytes after the
 * last member (GZIPInputStream stopped there without a word), and records whose JSON escapes
 * spell lone surrogates (written out as "?"). Inputs are generated here; well under a second.
 */
class HostileRecordsTest {
    private static final String LINES = "{\"id\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, "
            + "{\"role\": \"assistant\", \"content\": \"yo\"}]}\n";

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] read(byte[] file, String name) throws IOException {
        try (InputStream in = Compression.decompress(new ByteArrayInputStream(file), name)) {
            return in.readAllBytes();
        }
    }

    private static String failure(byte[] file) {
        return assertThrows(IOException.class, () -> read(file, "s3a://bucket/chats/part-7.jsonl.gz")).getMessage();
    }

    @Test
    void gzipIsReadWholeOrRefusedWithTheFileNamed() throws IOException {
        byte[] data = LINES.repeat(1000).getBytes(StandardCharsets.UTF_8);
        byte[] gz = gzip(data);
        assertArrayEquals(data, read(gz, "x.jsonl.gz"));
        // Members one after another (cat a.gz b.gz) are one stream, as gzip -d reads them.
        assertArrayEquals(concat(data, data), read(concat(gz, gz), "x.jsonl.gz"));
        // A header with a file name, a comment and extra field, written by hand.
        assertArrayEquals(data, read(handMadeMember(data), "x.jsonl.gz"));

        for (byte[] tail : List.of("garbage\n".getBytes(StandardCharsets.UTF_8), new byte[512], new byte[] {0x1f},
                new byte[] {0x1f, 0x00, 0x00})) {
            String message = failure(concat(gz, tail));
            assertTrue(message.startsWith("s3a://bucket/chats/part-7.jsonl.gz: "), message);
            assertTrue(message.contains("trailing garbage after gzip member 1 at byte " + gz.length)
                    || message.contains("truncated"), message);
        }
        assertTrue(failure(Arrays.copyOf(gz, gz.length - 5)).contains("truncated"));
        byte[] badCrc = gz.clone();
        badCrc[gz.length - 6] ^= 1;
        assertTrue(failure(badCrc).contains("fails its CRC check"));
        byte[] badData = gz.clone();
        badData[gz.length / 2] ^= 0x55;
        String corrupt = failure(badData);
        // Depending on the bit, the inflater fails, the stream ends early or late, or the CRC differs.
        assertTrue(List.of("corrupt", "CRC", "its trailer", "truncated").stream().anyMatch(corrupt::contains), corrupt);
        assertTrue(failure("plain text".getBytes(StandardCharsets.UTF_8)).contains("not gzip data at byte 0"));
    }

    /** A gzip member with FEXTRA, FNAME and FCOMMENT set, as some tools write. */
    private static byte[] handMadeMember(byte[] data) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        byte[] body = new byte[data.length + 1024];
        int n = d.deflate(body);
        d.end();
        CRC32 crc = new CRC32();
        crc.update(data);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, 4 | 8 | 16, 0, 0, 0, 0, 0, 3, 3, 0, 'a', 'b', 'c'});
        out.writeBytes("chats.jsonl\0made by hand\0".getBytes(StandardCharsets.ISO_8859_1));
        out.write(body, 0, n);
        for (long v : new long[] {crc.getValue(), data.length}) {
            for (int i = 0; i < 4; i++) {
                out.write((int) (v >>> (8 * i)));
            }
        }
        return out.toByteArray();
    }

    @Test
    void loneSurrogatesAreRejectedNotWrittenAsQuestionMarks() throws IOException {
        String jsonl = String.join("\n",
                "{\"id\": \"ok\", \"messages\": [{\"role\": \"user\", \"content\": \"smile \\ud83d\\ude00\"},"
                        + " {\"role\": \"assistant\", \"content\": \"yo\"}]}",
                "{\"id\": \"high\", \"messages\": [{\"role\": \"user\", \"content\": \"a\\ud83d\"},"
                        + " {\"role\": \"assistant\", \"content\": \"yo\"}]}",
                "{\"id\": \"low\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"},"
                        + " {\"role\": \"assistant\", \"content\": \"\\ude00b\"}]}",
                "{\"id\": \"id\\udc00\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"},"
                        + " {\"role\": \"assistant\", \"content\": \"yo\"}]}");
        List<Reject> rejects = new ArrayList<>();
        List<Conversation> read = new ArrayList<>();
        new ConversationReader(new ByteArrayInputStream(jsonl.getBytes(StandardCharsets.UTF_8)), "chats.jsonl",
                rejects::add).forEachRemaining(read::add);
        assertEquals(List.of("ok"), read.stream().map(Conversation::id).toList());
        assertEquals("smile \uD83D\uDE00", read.get(0).messages().get(0).content(), "a whole pair is a character");
        assertEquals(3, rejects.size());
        for (Reject r : rejects) {
            assertEquals(RejectReason.INVALID_UTF8, r.reason());
        }
        assertEquals("turn 0 has a lone surrogate \\uD83D at char 1 (a \\u escape that is not a Unicode character)",
                rejects.get(0).message());
        assertTrue(rejects.get(1).message().startsWith("turn 1 has a lone surrogate \\uDE00 at char 0"));
        assertTrue(rejects.get(2).message().startsWith("the id has a lone surrogate \\uDC00"));
    }
}
