package dev.eaglespark.data;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Filters whose Jinjava versions differ from the Jinja2 ones transformers renders with. */
final class JinjaFilters {
    private JinjaFilters() {}

    static List<Filter> all() {
        return List.of(new ToJson(), new Trim(), new PySlice());
    }

    /** Base for filters that take positional and keyword arguments. */
    private abstract static class PyFilter implements Filter {
        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public abstract Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs);

        static Object arg(Object[] args, Map<String, Object> kwargs, int i, String name) {
            if (kwargs != null && kwargs.containsKey(name)) {
                return kwargs.get(name);
            }
            return args != null && i < args.length ? args[i] : null;
        }
    }

    /** transformers' {@code tojson}: {@code json.dumps(x, ensure_ascii=False, indent=..., sort_keys=...)}. */
    static final class ToJson extends PyFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = arg(args, kwargs, 0, "indent");
            Object sort = arg(args, kwargs, 3, "sort_keys");
            Integer n = indent == null ? null : Integer.valueOf(Integer.parseInt(indent.toString()));
            return PyJson.dumps(var, n, Boolean.TRUE.equals(sort) || "true".equalsIgnoreCase(String.valueOf(sort)));
        }
    }

    /** Jinja2's {@code trim(chars=None)}: Python {@code str.strip}, not Java's {@code String.trim}. */
    static final class Trim extends PyFilter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object chars = arg(args, kwargs, 0, "chars");
            return PyStrings.strip(var == null ? "" : var.toString(), chars == null ? null : chars.toString());
        }
    }

    /** {@code x[start:stop:step]}, which {@link TemplatePrepass} rewrites into {@code x|py_slice(...)}. */
    static final class PySlice extends PyFilter {
        @Override
        public String getName() {
            return "py_slice";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            List<Object> items = new ArrayList<>();
            boolean string = var instanceof String;
            if (string) {
                ((String) var).codePoints().forEach(cp -> items.add(new String(Character.toChars(cp))));
            } else if (var instanceof Iterable<?> it) {
                it.forEach(items::add);
            } else if (var != null) {
                throw new TemplateException("cannot slice " + var.getClass().getSimpleName());
            }
            List<Object> out = slice(items, num(arg(args, kwargs, 0, "start")), num(arg(args, kwargs, 1, "stop")),
                    num(arg(args, kwargs, 2, "step")));
            if (string) {
                StringBuilder b = new StringBuilder();
                out.forEach(b::append);
                return b.toString();
            }
            return out;
        }

        private static Integer num(Object o) {
            return o == null ? null : Integer.valueOf(((Number) o).intValue());
        }

        /** Python's slice index rules. */
        static List<Object> slice(List<Object> xs, Integer start, Integer stop, Integer step) {
            int n = xs.size();
            int st = step == null ? 1 : step;
            if (st == 0) {
                throw new TemplateException("slice step cannot be zero");
            }
            List<Object> out = new ArrayList<>();
            if (st > 0) {
                int lo = clamp(start, n, 0, 0, n);
                int hi = clamp(stop, n, n, 0, n);
                for (int i = lo; i < hi; i += st) {
                    out.add(xs.get(i));
                }
            } else {
                int hi = clamp(start, n, n - 1, -1, n - 1);
                int lo = clamp(stop, n, -1, -1, n - 1);
                for (int i = hi; i > lo; i += st) {
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
}
