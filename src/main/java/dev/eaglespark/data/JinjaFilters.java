package dev.eaglespark.data;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.List;
import java.util.Map;

/** Filters whose Jinjava versions differ from the Jinja2 ones transformers renders with. */
final class JinjaFilters {
    private JinjaFilters() {}

    static List<Filter> all() {
        return List.of(new ToJson(), new Trim(), new Slice());
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
            // Positions as in transformers' tojson(x, ensure_ascii, indent, separators, sort_keys).
            Object indent = arg(args, kwargs, 1, "indent");
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

    /** {@code x|py_slice(start, stop, step)}: what {@link TemplatePrepass} makes of {@code x[start:stop:step]}. */
    static final class Slice extends PyFilter {
        @Override
        public String getName() {
            return "py_slice";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            return PySlice.of(arg(args, kwargs, 0, "start"), arg(args, kwargs, 1, "stop"), arg(args, kwargs, 2, "step"))
                    .apply(var);
        }
    }
}
