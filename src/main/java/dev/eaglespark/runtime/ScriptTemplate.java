package dev.eaglespark.runtime;

import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * TorchScript source kept as a readable file, {@code dev/eaglespark/scripts/NAME.torchscript} on
 * the class path, with named placeholders: {@code ${key}} takes the value of {@code key}. A
 * rendering fails on a placeholder without a value and on a value that no placeholder takes, so
 * a template and the code that fills it cannot drift apart silently.
 *
 * <p>The format:
 * <ul>
 *   <li>a line starting with {@code #} in the first column documents the template and is not
 *   rendered (an indented comment is TorchScript's and stays), unless it is a section mark;</li>
 *   <li>values: text, an int or long, a double (written so that it reads back exactly), a boolean
 *   ({@code True}/{@code False}), or another template, rendered with the same values; a value of
 *   several lines continues at the indentation of the line that holds its placeholder, so a
 *   placeholder alone on an indented line inserts a block of code;</li>
 *   <li>dtype codes by name, in every template: {@code ${float16}}, {@code ${float32}},
 *   {@code ${int32}}, {@code ${int64}}, {@code ${bool}} (TorchScript's serialized source has no
 *   names for them);</li>
 *   <li>a line {@code #| name} marks a section bound for profiling: the {@link Marks} hook of
 *   the rendering decides what it becomes ({@link #COMMENTS} keeps it as the comment).</li>
 * </ul>
 * {@link #module} renders methods into a module whose {@code self} is typed by the key
 * {@code class}.
 */
public final class ScriptTemplate {
    /** What a section mark becomes: code (one or more lines) for the {@code index}-th mark of a rendering. */
    @FunctionalInterface
    public interface Marks {
        String at(int index, String name);
    }

    private static final String MARK = "#| ";
    /** Marks kept as they are written: comments. */
    public static final Marks COMMENTS = (index, name) -> MARK + name;
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z_][a-z0-9_]*)}");
    /** TorchScript's dtype codes (c10::ScalarType). */
    private static final Map<String, Integer> DTYPES = Map.of("float16", 5, "float32", 6, "int32", 3, "int64", 4,
            "bool", 11);
    private static final Map<String, ScriptTemplate> LOADED = new ConcurrentHashMap<>();

    private final String name;
    private final List<String> lines;

    private ScriptTemplate(String name, List<String> lines) {
        this.name = name;
        this.lines = lines;
    }

    /** The template {@code dev/eaglespark/scripts/NAME.torchscript}. */
    public static ScriptTemplate of(String name) {
        return LOADED.computeIfAbsent(name, ScriptTemplate::load);
    }

    private static ScriptTemplate load(String name) {
        String path = "/dev/eaglespark/scripts/" + name + ".torchscript";
        try (InputStream in = ScriptTemplate.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException("no TorchScript template " + path + " on the class path");
            }
            List<String> kept = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.startsWith("#") || l.startsWith(MARK)).toList();
            return new ScriptTemplate(name, kept);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    /** The code of TorchScript's dtype {@code type} (for a value that depends on the run). */
    public static int dtype(DataType type) {
        return switch (type) {
            case FLOAT16 -> DTYPES.get("float16");
            case FLOAT32 -> DTYPES.get("float32");
            case INT32 -> DTYPES.get("int32");
            case INT64 -> DTYPES.get("int64");
            case BOOLEAN -> DTYPES.get("bool");
            default -> throw new IllegalArgumentException("no TorchScript dtype code for " + type);
        };
    }

    /** This template alone, marks kept as comments. */
    public String render(Map<String, ?> values) {
        return render(values, COMMENTS, List.of(this));
    }

    /** The names of this template's section marks, in order, as rendered with {@code values}. */
    public List<String> marks(Map<String, ?> values) {
        List<String> names = new ArrayList<>();
        render(values, (i, n) -> {
            names.add(n);
            return "";
        }, List.of(this));
        return names;
    }

    /**
     * {@code templates} one after another, with {@code values} and {@code marks}; every value must
     * be taken by a placeholder of one of them.
     */
    public static String render(Map<String, ?> values, Marks marks, List<ScriptTemplate> templates) {
        Rendering r = new Rendering(values, marks);
        List<String> parts = new ArrayList<>();
        for (ScriptTemplate t : templates) {
            parts.add(r.render(t));
        }
        r.checkAllUsed(templates);
        return String.join("\n", parts);
    }

    /**
     * The module of class {@code className} whose methods are {@code templates} rendered with
     * {@code values} and {@code class} = the class name, marks kept as comments.
     */
    public static ScriptModule module(String className, Map<String, ?> values, ScriptTemplate... templates) {
        return ScriptModule.of(className, methods(className, values, COMMENTS, List.of(templates)));
    }

    /**
     * The methods of a module of class {@code className}, as {@link ScriptModule#of} takes them
     * (indented by two spaces): {@code templates} rendered with {@code values}, {@code class} = the
     * class name, and {@code marks}.
     */
    public static String methods(String className, Map<String, ?> values, Marks marks,
                                 List<ScriptTemplate> templates) {
        Map<String, Object> all = new HashMap<>(values);
        if (all.put("class", className) != null) {
            throw new IllegalArgumentException("the key 'class' is the module's class name, given by the module");
        }
        return render(all, marks, templates).lines().map(l -> l.isEmpty() ? l : "  " + l)
                .collect(Collectors.joining("\n", "", "\n"));
    }

    @Override
    public String toString() {
        return name;
    }

    /** One rendering: its values, its marks hook, and which keys its templates took. */
    private static final class Rendering {
        private final Map<String, ?> values;
        private final Marks marks;
        private final Set<String> used = new LinkedHashSet<>();
        private int markIndex;

        Rendering(Map<String, ?> values, Marks marks) {
            for (String k : values.keySet()) {
                if (DTYPES.containsKey(k)) {
                    throw new IllegalArgumentException("'" + k + "' names a dtype code in every template: "
                            + "choose another key");
                }
            }
            this.values = values;
            this.marks = marks;
        }

        String render(ScriptTemplate t) {
            StringBuilder out = new StringBuilder();
            for (String line : t.lines) {
                String body = line.strip();
                String indent = line.substring(0, line.length() - line.stripLeading().length());
                String text = body.startsWith(MARK)
                        ? marks.at(markIndex++, body.substring(MARK.length()))
                        : substitute(t, line.substring(indent.length()));
                if (out.length() > 0) {
                    out.append('\n');
                }
                out.append(indent).append(text.replace("\n", "\n" + indent));
            }
            return out.toString();
        }

        private String substitute(ScriptTemplate t, String line) {
            Matcher m = PLACEHOLDER.matcher(line);
            StringBuilder out = new StringBuilder();
            int from = 0;
            while (m.find()) {
                out.append(line, from, m.start()).append(value(t, m.group(1)));
                from = m.end();
            }
            return out.append(line.substring(from)).toString();
        }

        private String value(ScriptTemplate t, String key) {
            if (DTYPES.containsKey(key)) {
                return Integer.toString(DTYPES.get(key));
            }
            if (!values.containsKey(key)) {
                throw new IllegalArgumentException("TorchScript template " + t.name + ": no value for ${" + key + "}");
            }
            used.add(key);
            Object v = values.get(key);
            if (v instanceof ScriptTemplate nested) {
                return render(nested);
            } else if (v instanceof CharSequence || v instanceof Integer || v instanceof Long) {
                return v.toString();
            } else if (v instanceof Double d) {
                return String.format(Locale.ROOT, "%.17g", d);
            } else if (v instanceof Boolean b) {
                return b ? "True" : "False";
            }
            throw new IllegalArgumentException("TorchScript template " + t.name + ": ${" + key + "} is a "
                    + (v == null ? "null" : v.getClass().getSimpleName())
                    + " (text, int, long, double, boolean or template)");
        }

        void checkAllUsed(List<ScriptTemplate> templates) {
            Set<String> unused = new TreeSet<>(values.keySet());
            unused.removeAll(used);
            if (!unused.isEmpty()) {
                throw new IllegalArgumentException("TorchScript templates " + templates + ": no placeholder takes "
                        + unused);
            }
        }
    }
}
