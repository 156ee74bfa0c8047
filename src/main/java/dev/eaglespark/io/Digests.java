package dev.eaglespark.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Hex digests of files and byte ranges, for verifying downloads. */
public final class Digests {
    private Digests() {}

    public static String of(Path file, String algorithm) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return of(in, Long.MAX_VALUE, algorithm);
        }
    }

    /** Digest of the next {@code limit} bytes of {@code in} (or all of it, if shorter). */
    public static String of(InputStream in, long limit, String algorithm) throws IOException {
        MessageDigest md = newDigest(algorithm);
        byte[] buf = new byte[1 << 16];
        long left = limit;
        while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                break;
            }
            md.update(buf, 0, n);
            left -= n;
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static MessageDigest newDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("unknown digest " + algorithm, e);
        }
    }
}
