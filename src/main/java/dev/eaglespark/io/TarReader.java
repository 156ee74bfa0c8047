package dev.eaglespark.io;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Just enough of ustar to find one regular file in an npm tarball and stream it. */
final class TarReader {
    private static final int BLOCK = 512;
    private final InputStream in;

    TarReader(InputStream in) {
        this.in = in;
    }

    /** A stream over the named entry's bytes, or null (stream closed) when the archive lacks it. */
    InputStream open(String wanted) throws IOException {
        byte[] header = new byte[BLOCK];
        while (readFully(header)) {
            if (isZero(header)) {
                break;
            }
            String name = field(header, 0, 100);
            String prefix = field(header, 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
            String sizeField = field(header, 124, 12).trim();
            long size = sizeField.isEmpty() ? 0 : Long.parseLong(sizeField, 8);
            char type = (char) header[156];
            if ((type == '0' || type == 0) && name.equals(wanted)) {
                return new Bounded(in, size);
            }
            long padded = (size + BLOCK - 1) / BLOCK * BLOCK;
            in.skipNBytes(padded);
        }
        in.close();
        return null;
    }

    private boolean readFully(byte[] b) throws IOException {
        int n = in.readNBytes(b, 0, b.length);
        return n == b.length;
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) {
            end++;
        }
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }

    /** Reads at most {@code left} bytes, then reports end of stream; closing closes the archive. */
    private static final class Bounded extends FilterInputStream {
        private long left;

        Bounded(InputStream in, long size) {
            super(in);
            this.left = size;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }
}
