package dev.eaglespark.io;

import java.nio.file.Path;
import java.nio.file.Paths;

/** Where downloaded packages and converted models are kept between runs. */
public final class CacheDir {
    private CacheDir() {}

    /** {@code -Deaglespark.cache}, else {@code $EAGLESPARK_CACHE}, else {@code ~/.cache/eaglespark}. */
    public static Path root() {
        String prop = System.getProperty("eaglespark.cache");
        if (prop != null && !prop.isBlank()) {
            return Paths.get(prop);
        }
        String env = System.getenv("EAGLESPARK_CACHE");
        if (env != null && !env.isBlank()) {
            return Paths.get(env);
        }
        return Paths.get(System.getProperty("user.home"), ".cache", "eaglespark");
    }
}
