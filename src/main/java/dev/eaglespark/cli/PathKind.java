package dev.eaglespark.cli;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * How a path option's value is made absolute, once, on the machine that parses the command:
 * a relative path on the command line is relative to the working directory, one in a config
 * file to the file's directory. Executors run in other directories, often on other machines,
 * so nothing relative may reach them.
 */
enum PathKind {
    /** Read or written by this JVM only (evaluate, dump, a template file): an absolute local path. */
    LOCAL,
    /**
     * A Hadoop URI that executors read or write too: a value with a scheme (hdfs://, s3a://, file:/)
     * is kept, a path without one is local and becomes a {@code file:} URI, never one of the
     * cluster's default file system.
     */
    URI;

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:");

    /** {@code value} made absolute against {@code base} (an absolute directory). */
    String resolve(String value, Path base) {
        String local = value;
        if (SCHEME.matcher(value).find()) {
            if (!value.startsWith("file:")) {
                return value;
            }
            local = value.substring("file:".length()).replaceFirst("^//(?=/)", "");
        }
        Path p = base.resolve(local).normalize();
        return this == LOCAL ? p.toString() : "file:" + p;
    }
}
