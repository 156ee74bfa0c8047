package dev.eaglespark.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Gzip decompression that accepts only gzip: members one after another (as {@code cat a.gz
 * b.gz} makes), each with its header, CRC and size checked, and nothing after the last.
 * {@link java.util.zip.GZIPInputStream} stops silently at bytes that do not start a member,
 * so a file with garbage appended (or two files glued wrongly) read as if whole. Errors name
 * the file and the offset.
 */
final class StrictGzipInputStream extends InputStream {
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;

    private final InputStream in;
    private final String source;
    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int lim;
    /** Compressed bytes read before {@code buf}'s contents. */
    private long consumed;
    private long memberSize;
    private int member = 1;
    private boolean eof;

    StrictGzipInputStream(InputStream in, String source) throws IOException {
        this.in = in;
        this.source = source;
        int first = readByte();
        if (first < 0) {
            throw new EOFException(source + ": empty file, not gzip");
        }
        readHeader(first);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (!eof) {
            if (inflater.needsInput()) {
                if (pos == lim && !fill()) {
                    throw new EOFException(source + ": gzip data truncated at byte " + offset());
                }
                inflater.setInput(buf, pos, lim - pos);
            }
            int n;
            try {
                n = inflater.inflate(b, off, len);
            } catch (DataFormatException e) {
                throw new IOException(source + ": corrupt gzip data in member " + member + ": " + e.getMessage(), e);
            }
            pos = lim - inflater.getRemaining();
            if (n > 0) {
                crc.update(b, off, n);
                memberSize += n;
                return n;
            }
            if (inflater.finished()) {
                readTrailer();
                nextMember();
            } else if (inflater.needsDictionary()) {
                throw new IOException(source + ": corrupt gzip data in member " + member + " (needs a dictionary)");
            }
        }
        return -1;
    }

    private void readTrailer() throws IOException {
        long expectedCrc = readIntLE();
        long expectedSize = readIntLE();
        if (expectedCrc != crc.getValue()) {
            throw new IOException(source + ": gzip member " + member + " fails its CRC check (corrupt data)");
        }
        if (expectedSize != (memberSize & 0xffffffffL)) {
            throw new IOException(source + ": gzip member " + member + " has " + memberSize
                    + " bytes, its trailer says " + expectedSize);
        }
    }

    /** Another member, the end of the file, or an error: anything else after a member is garbage. */
    private void nextMember() throws IOException {
        long at = offset();
        int b = readByte();
        if (b < 0) {
            eof = true;
            return;
        }
        if (b != 0x1f) {
            throw trailingGarbage(at);
        }
        member++;
        inflater.reset();
        crc.reset();
        memberSize = 0;
        readHeader(b);
    }

    private IOException trailingGarbage(long at) {
        return new IOException(source + ": trailing garbage after gzip member " + member + " at byte " + at
                + " (not the start of another member); the file is corrupt");
    }

    private void readHeader(int first) throws IOException {
        long at = offset() - 1;
        if (first != 0x1f || readByte() != 0x8b) {
            if (member > 1) {
                member--;
                throw trailingGarbage(at);
            }
            throw new IOException(source + ": not gzip data at byte " + at);
        }
        int method = readByte();
        int flags = readByte();
        if (method != 8 || flags < 0 || (flags & 0xe0) != 0) {
            throw new IOException(source + ": unsupported or corrupt gzip header at byte " + at);
        }
        skipBytes(6); // mtime, extra flags, OS
        if ((flags & FEXTRA) != 0) {
            skipBytes(readByte() | (readByte() << 8));
        }
        if ((flags & FNAME) != 0) {
            skipZeroTerminated();
        }
        if ((flags & FCOMMENT) != 0) {
            skipZeroTerminated();
        }
        if ((flags & FHCRC) != 0) {
            skipBytes(2);
        }
    }

    private void skipZeroTerminated() throws IOException {
        while (required() != 0) {
            // skip
        }
    }

    private void skipBytes(int n) throws IOException {
        for (int i = 0; i < n; i++) {
            required();
        }
    }

    private long readIntLE() throws IOException {
        return required() | (required() << 8) | (required() << 16) | ((long) required() << 24);
    }

    private int required() throws IOException {
        int b = readByte();
        if (b < 0) {
            throw new EOFException(source + ": gzip data truncated at byte " + offset());
        }
        return b;
    }

    private int readByte() throws IOException {
        if (pos == lim && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    private boolean fill() throws IOException {
        consumed += lim;
        pos = 0;
        lim = 0;
        int r = in.read(buf, 0, buf.length);
        if (r <= 0) {
            return false;
        }
        lim = r;
        return true;
    }

    private long offset() {
        return consumed + pos;
    }

    @Override
    public void close() throws IOException {
        inflater.end();
        in.close();
    }
}
