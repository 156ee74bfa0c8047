package dev.eaglespark.data;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.objects.SafeString;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * A filter held to the render's {@link RenderBudget}: the filters whose size comes from an
 * argument ({@code center(10**9)}, {@code indent}, {@code format("%999999999d")}, {@code round},
 * {@code slice}, {@code batch}) are checked before they allocate, and every result after, so a
 * filter can neither exhaust the heap nor smuggle a string past the output budget.
 */
final class BudgetedFilter implements Filter {
    private final Filter delegate;

    BudgetedFilter(Filter delegate) {
        this.delegate = delegate;
    }

    @Override
    public String getName() {
        return delegate.getName();
    }

    @Override
    public boolean preserveSafeString() {
        return delegate.preserveSafeString();
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        before(var, args, Map.of());
        return after(delegate.filter(var, interpreter, args));
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        before(var, args, kwargs);
        return after(delegate.filter(var, interpreter, args, kwargs));
    }

    @Override
    public Object filter(SafeString var, JinjavaInterpreter interpreter, String... args) {
        before(var, args, Map.of());
        return after(delegate.filter(var, interpreter, args));
    }

    private void before(Object var, Object[] args, Map<String, Object> kwargs) {
        RenderBudget budget = RenderBudget.current();
        budget.checkTime();
        long size = switch (getName()) {
            case "center" -> largest(args, kwargs);
            // Each line gets the indent: width times lines.
            case "indent" -> times(largest(args, kwargs), lines(var) + 1);
            case "format" -> numbersIn(String.valueOf(var));
            case "round" -> largest(args, kwargs);
            // Every element on a line of its own, indented by its depth.
            case "tojson" -> times(largest(args, kwargs), indentUnits(var, 1));
            default -> 0;
        };
        budget.checkChars(size);
        if (getName().equals("slice") || getName().equals("batch")) {
            budget.checkSize(largest(args, kwargs));
        }
        if (getName().equals("list") && var instanceof CharSequence s) {
            budget.checkSize(s.length());
        }
    }

    private static Object after(Object result) {
        RenderBudget budget = RenderBudget.current();
        if (result instanceof CharSequence s) {
            budget.checkChars(s.length());
        } else if (result instanceof Collection<?> c) {
            budget.checkSize(c.size());
        } else if (result instanceof Map<?, ?> m) {
            budget.checkSize(m.size());
        }
        return result;
    }

    /** The largest integer among the arguments (0 if none): the width or count the filter will use. */
    private static long largest(Object[] args, Map<String, Object> kwargs) {
        List<Object> all = new ArrayList<>();
        if (args != null) {
            all.addAll(List.of(args));
        }
        if (kwargs != null) {
            all.addAll(kwargs.values());
        }
        long max = 0;
        for (Object a : all) {
            max = Math.max(max, asLong(a));
        }
        return max;
    }

    private static long asLong(Object a) {
        if (a instanceof Number n) {
            double d = n.doubleValue();
            return Double.isNaN(d) ? 0 : d >= Long.MAX_VALUE / 4 ? Long.MAX_VALUE / 4 : (long) Math.abs(d);
        }
        if (a instanceof CharSequence s) {
            return numbersIn(s.toString());
        }
        return 0;
    }

    /** The sum of the digit runs in {@code s}: what the widths and precisions of a format string add up to. */
    private static long numbersIn(String s) {
        long sum = 0;
        long run = 0;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : ' ';
            if (c >= '0' && c <= '9') {
                run = Math.min(Long.MAX_VALUE / 40, run * 10 + (c - '0'));
            } else {
                sum = Math.min(Long.MAX_VALUE / 4, sum + run);
                run = 0;
            }
        }
        return sum;
    }

    private static long times(long a, long b) {
        return Math.multiplyHigh(a, b) != 0 || a * b < 0 ? Long.MAX_VALUE : a * b;
    }

    private static long lines(Object var) {
        String s = String.valueOf(var);
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }

    /** Indent units tojson writes for {@code var} at {@code depth}: each element's line is indented by its depth. */
    private static long indentUnits(Object var, long depth) {
        Collection<?> items = var instanceof Map<?, ?> m ? m.values() : var instanceof Collection<?> c ? c : null;
        if (items == null) {
            return 0;
        }
        long n = depth; // the closing bracket's line
        for (Object o : items) {
            n = Math.min(Long.MAX_VALUE / 4, n + depth + indentUnits(o, depth + 1));
        }
        return n;
    }
}
