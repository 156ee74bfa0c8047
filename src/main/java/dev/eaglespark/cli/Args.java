package dev.eaglespark.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The parsed options of a {@link LegacyCommand}, by name. */
public final class Args {
    private final Map<String, List<String>> values = new LinkedHashMap<>();

    Args(Map<String, List<String>> values) {
        this.values.putAll(values);
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
