package dev.eaglespark.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --name value} and {@code --flag} options of one subcommand. Every option must be
 * declared by the command; anything else is an error naming the option, so typos never pass
 * silently.
 */
public final class Args {
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final Map<String, Boolean> options;

    private Args(Map<String, Boolean> options) {
        this.options = options;
    }

    /**
     * @param options the declared options: name to whether it takes a value
     */
    public static Args parse(String[] argv, Map<String, Boolean> options) {
        Args a = new Args(options);
        for (int i = 0; i < argv.length; i++) {
            String arg = argv[i];
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument '" + arg + "'");
            }
            String name = arg.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            Boolean takesValue = options.get(name);
            if (takesValue == null) {
                throw new UsageException("unknown option --" + name);
            }
            String value = "true";
            if (takesValue) {
                if (inline != null) {
                    value = inline;
                } else if (i + 1 < argv.length) {
                    value = argv[++i];
                } else {
                    throw new UsageException("option --" + name + " needs a value");
                }
            }
            a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return a;
    }

    /**
     * These values, plus the fallback values of every option not given here (a config file's),
     * without {@code drop}: what the command line says wins, also for repeatable options.
     */
    Args withFallbacks(Map<String, List<String>> fallbacks, String drop) {
        Args merged = new Args(options);
        fallbacks.forEach((name, v) -> {
            if (!values.containsKey(name)) {
                merged.values.put(name, v);
            }
        });
        values.forEach((name, v) -> merged.values.put(name, v));
        merged.values.remove(drop);
        return merged;
    }

    /** These values with every path option made absolute against {@code base} (see {@link PathKind}). */
    Args withAbsolutePaths(Map<String, PathKind> paths, java.nio.file.Path base) {
        Args resolved = new Args(options);
        values.forEach((name, v) -> resolved.values.put(name, v.stream()
                .map(x -> absolutePath(name, x, paths, base)).toList()));
        return resolved;
    }

    static String absolutePath(String name, String value, Map<String, PathKind> paths, java.nio.file.Path base) {
        PathKind kind = paths.get(name);
        return kind == null || ModelArg.isDemo(name, value) ? value : kind.resolve(value, base);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public String get(String name, String fallback) {
        List<String> v = values.get(name);
        return v == null ? fallback : v.get(v.size() - 1);
    }

    public String required(String name) {
        String v = get(name, null);
        if (v == null) {
            throw new UsageException("missing required option --" + name);
        }
        return v;
    }

    public List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    /** All values of a repeatable option that must be given at least once. */
    public List<String> requiredAll(String name) {
        List<String> v = all(name);
        if (v.isEmpty()) {
            throw new UsageException("missing required option --" + name);
        }
        return v;
    }

    /** The text of the file an option names, or null when the option is absent. */
    public String fileText(String name) throws java.io.IOException {
        String path = get(name, null);
        return path == null ? null : java.nio.file.Files.readString(java.nio.file.Paths.get(path));
    }

    /** {@code --template-limits}: the chat template sandbox's budgets, the defaults changed by KEY=VALUE,... */
    public dev.eaglespark.data.TemplateLimits templateLimits() {
        try {
            return dev.eaglespark.data.TemplateLimits.parse(get("template-limits", null));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--template-limits: " + e.getMessage());
        }
    }

    public int getInt(String name, int fallback) {
        String v = get(name, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + " needs an integer, got '" + v + "'");
        }
    }

    /**
     * An option's value (or {@code fallback}) through {@code parse}; the parser's
     * IllegalArgumentException becomes a usage error naming the option.
     */
    public <T> T get(String name, String fallback, java.util.function.Function<String, T> parse) {
        String v = get(name, fallback);
        try {
            return parse.apply(v);
        } catch (IllegalArgumentException e) {
            throw new UsageException("option --" + name + ": " + e.getMessage());
        }
    }

    /** A comma-separated list of integers, or null when absent without a fallback. */
    public int[] getInts(String name, String fallback) {
        String v = get(name, fallback);
        if (v == null) {
            return null;
        }
        try {
            return java.util.Arrays.stream(v.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + " needs comma-separated integers, got '" + v + "'");
        }
    }
}
