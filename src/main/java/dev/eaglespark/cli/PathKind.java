package dev.eaglespark.cli;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;

/**
 * How a path option's value is made absolute, once, on the machine that parses the command:
 * a relative path on the command line is relative to the working directory, one in a config
 * file to the file's directory. Executors run in other directories, often on other machines,
 * so nothing relative may reach them. An option names its kind with one of the converters
 * below ({@code @Option(converter = PathKind.UriPath.class)}).
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

    /**
     * The converter of a path option: its value made absolute against the working directory. A
     * config file's values reach it already absolute (against the file's directory, by
     * {@link #resolve(String, Path)}), and an absolute value is kept as it is.
     */
    abstract static class Converter implements ITypeConverter<String> {
        private final PathKind kind;
        private final boolean model;

        /** @param model the option names a target model, which may be the demo model's name */
        Converter(PathKind kind, boolean model) {
            this.kind = kind;
            this.model = model;
        }

        /** The value made absolute against {@code base}; the demo model's name stays as it is. */
        String resolve(String value, Path base) {
            return model && value.equals(ModelArg.DEMO) ? value : kind.resolve(value, base);
        }

        @Override
        public String convert(String value) {
            return resolve(value, Paths.get("").toAbsolutePath());
        }
    }

    /** A local path. */
    static final class LocalPath extends Converter {
        LocalPath() {
            super(LOCAL, false);
        }
    }

    /** A Hadoop URI. */
    static final class UriPath extends Converter {
        UriPath() {
            super(URI, false);
        }
    }

    /** A local model directory, or 'stories15M'. */
    static final class LocalModel extends Converter {
        LocalModel() {
            super(LOCAL, true);
        }
    }

    /** A model directory as a Hadoop URI, or 'stories15M'. */
    static final class UriModel extends Converter {
        UriModel() {
            super(URI, true);
        }
    }
}
