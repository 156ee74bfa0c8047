package dev.eaglespark.data;

import com.github.luben.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * Decompresses by file name: {@code .gz} (strictly: trailing garbage is an error naming the
 * file), {@code .zst}/{@code .zstd}, else plain.
 */
public final class Compression {
    private Compression() {}

    public static InputStream decompress(InputStream raw, String sourceName) throws IOException {
        String name = sourceName.toLowerCase(Locale.ROOT);
        InputStream in = new BufferedInputStream(raw, 1 << 16);
        if (name.endsWith(".gz")) {
            return new BufferedInputStream(new StrictGzipInputStream(raw, sourceName), 1 << 16);
        }
        if (name.endsWith(".zst") || name.endsWith(".zstd")) {
            return new BufferedInputStream(new ZstdInputStream(in), 1 << 16);
        }
        return in;
    }
}
