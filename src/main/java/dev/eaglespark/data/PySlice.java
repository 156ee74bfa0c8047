package dev.eaglespark.data;

import java.util.ArrayList;
import java.util.List;

/**
 * A Python slice {@code [start:stop:step]} of a list or string: the {@code py_slice} filter
 * that {@link TemplatePrepass} turns extended slices into.
 */
record PySlice(Integer start, Integer stop, Integer step) {
    static PySlice of(Object start, Object stop, Object step) {
        return new PySlice(num(start), num(stop), num(step));
    }

    private static Integer num(Object o) {
        return o == null ? null : Integer.valueOf(((Number) o).intValue());
    }

    Object apply(Object base) {
        if (base instanceof String s) {
            List<Object> cps = new ArrayList<>();
            s.codePoints().forEach(cp -> cps.add(new String(Character.toChars(cp))));
            StringBuilder b = new StringBuilder();
            slice(cps).forEach(b::append);
            return b.toString();
        }
        if (base instanceof Iterable<?> it) {
            List<Object> items = new ArrayList<>();
            it.forEach(items::add);
            return slice(items);
        }
        throw new TemplateException("cannot slice " + (base == null ? "none" : base.getClass().getSimpleName()));
    }

    /** Python's slice index rules. */
    List<Object> slice(List<Object> xs) {
        int n = xs.size();
        int st = step == null ? 1 : step;
        if (st == 0) {
            throw new TemplateException("slice step cannot be zero");
        }
        List<Object> out = new ArrayList<>();
        if (st > 0) {
            for (int i = clamp(start, n, 0, 0, n), hi = clamp(stop, n, n, 0, n); i < hi; i += st) {
                out.add(xs.get(i));
            }
        } else {
            for (int i = clamp(start, n, n - 1, -1, n - 1), lo = clamp(stop, n, -1, -1, n - 1); i > lo; i += st) {
                out.add(xs.get(i));
            }
        }
        return out;
    }

    private static int clamp(Integer v, int n, int dflt, int min, int max) {
        if (v == null) {
            return dflt;
        }
        int i = v < 0 ? v + n : v;
        return Math.max(min, Math.min(max, i));
    }
}
