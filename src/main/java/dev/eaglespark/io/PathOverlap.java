package dev.eaglespark.io;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Whether an output would overlap an input: the same directory, one inside the other. Paths
 * are compared qualified (scheme, authority, absolute path) and normalised, so
 * {@code data/./x}, {@code file:///abs/data/x} and {@code /abs/data/x} are one place.
 */
public final class PathOverlap {
    private PathOverlap() {}

    /** The qualified, normalised form of a path given by the user. */
    public static Path qualify(String uri, Configuration conf) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = p.getFileSystem(conf);
        URI u = fs.makeQualified(p).toUri().normalize();
        String path = u.getPath();
        if (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        String authority = u.getAuthority() == null ? null : u.getAuthority().toLowerCase(java.util.Locale.ROOT);
        try {
            return new Path(new URI(scheme, authority, path, null, null));
        } catch (java.net.URISyntaxException e) {
            throw new IOException("not a valid path: " + uri, e);
        }
    }

    /**
     * The places an input argument names: the path itself, or for a glob every match (a glob
     * that matches nothing names nothing yet).
     */
    public static List<Path> inputPlaces(String input, Configuration conf) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!isGlob(input)) {
            out.add(qualify(input, conf));
            return out;
        }
        Path p = new Path(input);
        FileStatus[] matches = p.getFileSystem(conf).globStatus(p);
        if (matches != null) {
            for (FileStatus s : matches) {
                out.add(qualify(s.getPath().toString(), conf));
            }
        }
        return out;
    }

    /** How {@code output} overlaps {@code input}, or null when it does not. */
    public static String overlap(Path output, Path input) {
        if (output.equals(input)) {
            return "is the input " + input;
        }
        if (contains(input, output)) {
            return "lies inside the input " + input;
        }
        if (contains(output, input)) {
            return "contains the input " + input;
        }
        return null;
    }

    /** Whether {@code inner} lies strictly below {@code outer} (both qualified). */
    static boolean contains(Path outer, Path inner) {
        URI o = outer.toUri();
        URI i = inner.toUri();
        if (!java.util.Objects.equals(o.getScheme(), i.getScheme())
                || !java.util.Objects.equals(o.getAuthority(), i.getAuthority())) {
            return false;
        }
        String prefix = o.getPath().endsWith("/") ? o.getPath() : o.getPath() + "/";
        return i.getPath().startsWith(prefix);
    }

    private static boolean isGlob(String s) {
        return s.indexOf('*') >= 0 || s.indexOf('?') >= 0 || s.indexOf('[') >= 0 || s.indexOf('{') >= 0;
    }
}
