package dev.eaglespark.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The lines of a stream, read as bytes so that a bad line costs only itself: one longer than
 * the limit is skipped without being buffered, and invalid UTF-8 is reported per line instead
 * of being replaced with U+FFFD.
 */
final class JsonlLines implements Iterator<JsonlLines.Line> {
    /** A line: its 1-based number and either its text or why it has none. */
    record Line(long number, String text, RejectReason problem, String detail) {}

    private final InputStream in;
    private final int maxBytes;
    private final long lastNumber;
    private byte[] buf = new byte[8192];
    private long number;
    private Line next;
    private boolean eof;

    JsonlLines(InputStream in, int maxBytes) {
        this(in, maxBytes, 1, Long.MAX_VALUE);
    }

    /** Reads at most {@code maxLines} lines, numbering them from {@code firstNumber}. */
    JsonlLines(InputStream in, int maxBytes, long firstNumber, long maxLines) {
        this.in = in;
        this.maxBytes = maxBytes;
        this.number = firstNumber - 1;
        this.lastNumber = maxLines == Long.MAX_VALUE ? Long.MAX_VALUE : firstNumber - 1 + maxLines;
    }

    @Override
    public boolean hasNext() {
        if (next == null && !eof) {
            try {
                next = readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return next != null;
    }

    /** The number of the last line read (before the first: one less than the first's). */
    long lastNumber() {
        return number;
    }

    @Override
    public Line next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Line l = next;
        next = null;
        return l;
    }

    private Line readLine() throws IOException {
        while (true) {
            if (number >= lastNumber) {
                eof = true;
                return null;
            }
            int n = 0;
            long total = 0;
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                total++;
                if (total > maxBytes) {
                    continue; // keep counting, stop buffering
                }
                if (n == buf.length) {
                    buf = Arrays.copyOf(buf, Math.min(maxBytes, buf.length * 2));
                }
                buf[n++] = (byte) b;
            }
            if (b < 0) {
                eof = true;
                if (total == 0) {
                    return null;
                }
            }
            number++;
            if (total > maxBytes) {
                return new Line(number, null, RejectReason.RECORD_TOO_LARGE, total + " bytes > limit " + maxBytes);
            }
            if (n > 0 && buf[n - 1] == '\r') {
                n--;
            }
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(buf, 0, n)).toString();
            } catch (CharacterCodingException e) {
                return new Line(number, null, RejectReason.INVALID_UTF8, e.toString());
            }
            if (!text.isBlank()) {
                return new Line(number, text, null, null);
            }
            if (eof) {
                return null;
            }
            // Blank lines are separators, not records.
        }
    }
}
