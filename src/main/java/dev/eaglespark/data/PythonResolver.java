package dev.eaglespark.data;

import java.beans.FeatureDescriptor;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python {@code str} method calls ({@code content.startswith('x')},
 * {@code content.split('</think>')[-1]}) on Java strings, which Jinjava would otherwise send
 * to Java's methods of the same or no name.
 */
final class PythonResolver extends ELResolver {
    static final Set<String> METHODS = Set.of("startswith", "endswith", "split", "rsplit", "strip", "lstrip",
            "rstrip", "lower", "upper", "title", "capitalize", "replace", "find", "rfind", "count", "join",
            "isdigit", "isspace", "isalpha", "isalnum", "islower", "isupper", "splitlines");

    /** What Python's str.splitlines breaks at (besides "\r\n"). */
    private static final String LINE_BREAKS = "\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029";

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null || !METHODS.contains(method.toString())) {
            return null;
        }
        Object[] p = params == null ? new Object[0] : params;
        checkBudget(s, method.toString(), p);
        Object result = call(s, method.toString(), p);
        context.setPropertyResolved(true);
        return result;
    }

    private static Object call(String s, String m, Object[] p) {
        switch (m) {
            case "startswith": return PyStrings.affix(s, arg(p, 0), true);
            case "endswith": return PyStrings.affix(s, arg(p, 0), false);
            case "split": return PyStrings.split(s, str(p, 0), intArg(p, 1, -1));
            case "rsplit": return PyStrings.rsplit(s, str(p, 0), intArg(p, 1, -1));
            case "strip": return PyStrings.strip(s, str(p, 0));
            case "lstrip": return PyStrings.lstrip(s, str(p, 0));
            case "rstrip": return PyStrings.rstrip(s, str(p, 0));
            case "lower": return s.toLowerCase(Locale.ROOT);
            case "upper": return s.toUpperCase(Locale.ROOT);
            case "title": return PyStrings.title(s);
            case "capitalize": return PyStrings.capitalize(s);
            case "replace": return replace(s, str(p, 0), str(p, 1), intArg(p, 2, -1));
            case "find": return s.indexOf(str(p, 0));
            case "rfind": return s.lastIndexOf(str(p, 0));
            case "count": return PyStrings.count(s, str(p, 0));
            case "join": return join(s, arg(p, 0));
            case "isdigit": return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isspace": return !s.isEmpty() && s.chars().allMatch(c -> PyStrings.isSpace((char) c));
            case "isalpha": return !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum": return !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "islower": return s.chars().anyMatch(Character::isLetter) && s.equals(s.toLowerCase(Locale.ROOT));
            case "isupper": return s.chars().anyMatch(Character::isLetter) && s.equals(s.toUpperCase(Locale.ROOT));
            case "splitlines": return List.of(s.split("\r\n|[" + LINE_BREAKS + "]", -1))
                    .stream().limit(s.isEmpty() ? 0 : Long.MAX_VALUE).collect(Collectors.toList());
            default: throw new IllegalStateException(m);
        }
    }

    /** The methods whose result can outgrow their string are sized first, against the render's budget. */
    private static void checkBudget(String s, String m, Object[] p) {
        RenderBudget budget = RenderBudget.current();
        budget.checkTime();
        switch (m) {
            case "replace" -> {
                String old = str(p, 0);
                String neu = str(p, 1);
                if (old != null && neu != null && neu.length() > old.length()) {
                    long hits = old.isEmpty() ? s.length() + 1L : PyStrings.count(s, old);
                    int max = intArg(p, 2, -1);
                    hits = max >= 0 ? Math.min(hits, max) : hits;
                    budget.checkChars(s.length() + hits * (neu.length() - old.length()));
                }
            }
            case "join" -> {
                Object items = arg(p, 0);
                if (items instanceof java.util.Collection<?> c) {
                    long chars = (long) s.length() * Math.max(0, c.size() - 1);
                    for (Object o : c) {
                        chars += String.valueOf(o).length();
                    }
                    budget.checkChars(chars);
                }
            }
            case "split", "rsplit", "splitlines" -> {
                // A piece per separator at most: counted only when it could matter.
                if (s.length() > budget.limits().collectionSize()) {
                    String sep = str(p, 0);
                    long pieces = m.equals("splitlines") ? s.chars().filter(c -> LINE_BREAKS.indexOf(c) >= 0).count()
                            : sep == null || sep.isEmpty() ? s.length() / 2 : PyStrings.count(s, sep);
                    budget.checkSize(pieces + 1);
                }
            }
            default -> { }
        }
    }

    private static String replace(String s, String old, String neu, int count) {
        if (count < 0) {
            return s.replace(old, neu);
        }
        StringBuilder b = new StringBuilder();
        int from = 0;
        for (int i = 0; i < count; i++) {
            int at = s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            b.append(s, from, at).append(neu);
            from = at + old.length();
        }
        return b.append(s.substring(from)).toString();
    }

    private static String join(String sep, Object items) {
        Iterable<?> it = items instanceof Iterable<?> i ? i : List.of(String.valueOf(items));
        return StreamSupport.stream(it.spliterator(), false).map(String::valueOf).collect(Collectors.joining(sep));
    }

    private static Object arg(Object[] p, int i) {
        return i < p.length ? p[i] : null;
    }

    private static String str(Object[] p, int i) {
        Object o = arg(p, i);
        return o == null ? null : o.toString();
    }

    private static int intArg(Object[] p, int i, int dflt) {
        Object o = arg(p, i);
        return o instanceof Number n ? n.intValue() : dflt;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null; // properties are left to the other resolvers
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
