package dev.eaglespark.data;

import java.util.Map;

/**
 * {@code json.dumps} as transformers' {@code tojson} filter calls it ({@code ensure_ascii=False}):
 * ", " and ": " separators, or "," and ": " with an indent. Tool schemas rendered into a prompt
 * must match byte for byte, so Jackson's compact output will not do.
 */
final class PyJson {
    private PyJson() {}

    static String dumps(Object value, Integer indent, boolean sortKeys) {
        StringBuilder b = new StringBuilder();
        write(b, value, indent, sortKeys, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, Integer indent, boolean sortKeys, int depth) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short
                || v instanceof Byte || v instanceof java.math.BigInteger) {
            b.append(v);
        } else if (v instanceof Number n) {
            double d = n.doubleValue();
            b.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : pyFloat(d));
        } else if (v instanceof Map<?, ?> m) {
            Iterable<? extends Map.Entry<?, ?>> entries = sortKeys
                    ? new java.util.TreeMap<Object, Object>(m).entrySet() : m.entrySet();
            container(b, '{', '}', m.isEmpty(), indent, depth, entries, (e) -> {
                string(b, String.valueOf(e.getKey()));
                b.append(": ");
                write(b, e.getValue(), indent, sortKeys, depth + 1);
            });
        } else if (v instanceof Iterable<?> it) {
            container(b, '[', ']', !it.iterator().hasNext(), indent, depth, it, (e) -> write(b, e, indent, sortKeys, depth + 1));
        } else if (v instanceof Object[] arr) {
            write(b, java.util.Arrays.asList(arr), indent, sortKeys, depth);
        } else {
            string(b, v.toString());
        }
    }

    private static <T> void container(StringBuilder b, char open, char close, boolean empty, Integer indent, int depth,
                                      Iterable<T> items, java.util.function.Consumer<T> each) {
        b.append(open);
        if (empty) {
            b.append(close);
            return;
        }
        boolean first = true;
        for (T item : items) {
            if (!first) {
                b.append(indent == null ? ", " : ",");
            }
            if (indent != null) {
                b.append('\n').append(" ".repeat(indent * (depth + 1)));
            }
            each.accept(item);
            first = false;
        }
        if (indent != null) {
            b.append('\n').append(" ".repeat(indent * depth));
        }
        b.append(close);
    }

    private static String pyFloat(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return String.format(java.util.Locale.ROOT, "%.1f", d);
        }
        return Double.toString(d).replace("E", "e");
    }

    static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
