package dev.eaglespark.collective;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Native libraries this process has already loaded (Linux: {@code /proc/self/maps}), and JNA
 * bindings to them or to a file. libtorch's own libraries are found by file name because DJL
 * loads them from wherever its cache or {@code PYTORCH_LIBRARY_PATH} put them.
 */
final class LoadedLibraries {
    /** dlopen's flags: resolve lazily; without RTLD_GLOBAL the symbols stay out of the global scope. */
    private static final int RTLD_LAZY = 0x1;
    /** Only an already loaded library: never a second copy from elsewhere. */
    private static final int RTLD_NOLOAD = 0x4;

    private LoadedLibraries() {}

    /** The path of a loaded library whose file name matches {@code name}, if any. */
    static Optional<String> find(Pattern name) {
        return findAll(name).stream().findFirst();
    }

    /** The paths of the loaded libraries whose file names match {@code name}. */
    static List<String> findAll(Pattern name) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(LoadedLibraries::mappedFile)
                    .filter(p -> p != null && p.getFileName() != null && name.matcher(p.getFileName().toString()).matches())
                    .map(Path::toString).distinct().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The file of one line of /proc/self/maps (its last field, when it is a path). */
    private static Path mappedFile(String line) {
        int slash = line.indexOf('/');
        return slash < 0 ? null : Path.of(line.substring(slash).trim());
    }

    /**
     * A JNA binding of {@code api} to the library at {@code path}, after checking it has every one
     * of {@code symbols} (JNA itself looks functions up only when first called). {@code loaded}: the
     * library must already be in the process.
     */
    static <T extends Library> T bind(String path, boolean loaded, Class<T> api, String... symbols) {
        Map<String, Object> options = Map.of(Library.OPTION_OPEN_FLAGS, loaded ? RTLD_LAZY | RTLD_NOLOAD : RTLD_LAZY);
        NativeLibrary library = NativeLibrary.getInstance(path, options);
        for (String symbol : symbols) {
            library.getFunction(symbol); // UnsatisfiedLinkError naming the symbol
        }
        return Native.load(path, api, options);
    }
}
