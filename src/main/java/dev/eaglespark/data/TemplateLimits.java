package dev.eaglespark.data;

import java.io.Serializable;
import java.time.Duration;
import java.util.Locale;

/**
 * What one render of a chat template may spend. Templates come from model directories, so
 * they are untrusted code: a render past any of these budgets is rejected ({@code
 * template_error}, the message names the budget) and the job goes on with the next record.
 *
 * @param renderTime     wall time of one render
 * @param outputChars    characters of the output, and of any string or filter result built
 *                       on the way
 * @param collectionSize elements of any list or map the template builds, and of a {@code range}
 * @param loopIterations {@code for} loop iterations of one render, all loops together
 * @param macroDepth     nesting of macro calls (recursion included)
 */
public record TemplateLimits(Duration renderTime, long outputChars, int collectionSize, long loopIterations,
                             int macroDepth) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Generous for every real template: a 64 MiB record renders within all of them. */
    public static TemplateLimits defaults() {
        return new TemplateLimits(Duration.ofSeconds(10), 64L << 20, 1_000_000, 1_000_000, 64);
    }

    public TemplateLimits {
        if (renderTime == null || renderTime.isNegative() || renderTime.isZero()) {
            throw new IllegalArgumentException("template render time must be positive: " + renderTime);
        }
        if (outputChars <= 0 || outputChars > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("template output must be in [1, 2^31 - 16) chars: " + outputChars);
        }
        if (collectionSize <= 0 || loopIterations <= 0 || macroDepth <= 0) {
            throw new IllegalArgumentException("template limits must be positive: list " + collectionSize
                    + ", loops " + loopIterations + ", macro depth " + macroDepth);
        }
    }

    /**
     * The defaults changed by a comma-separated list of {@code key=value}: {@code time} (seconds,
     * or with an ms/s/m suffix), {@code output}, {@code list}, {@code loops}, {@code depth}
     * (counts, with an optional k/m/g suffix: powers of 1024 for output, of 1000 else).
     */
    public static TemplateLimits parse(String spec) {
        TemplateLimits l = defaults();
        if (spec == null || spec.isBlank()) {
            return l;
        }
        for (String part : spec.split(",")) {
            int eq = part.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("template limit '" + part.trim() + "' is not key=value");
            }
            String key = part.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = part.substring(eq + 1).trim().toLowerCase(Locale.ROOT);
            l = switch (key) {
                case "time" -> new TemplateLimits(duration(value), l.outputChars, l.collectionSize, l.loopIterations,
                        l.macroDepth);
                case "output" -> new TemplateLimits(l.renderTime, count(value, 1024), l.collectionSize,
                        l.loopIterations, l.macroDepth);
                case "list" -> new TemplateLimits(l.renderTime, l.outputChars, intCount(key, value), l.loopIterations,
                        l.macroDepth);
                case "loops" -> new TemplateLimits(l.renderTime, l.outputChars, l.collectionSize, count(value, 1000),
                        l.macroDepth);
                case "depth" -> new TemplateLimits(l.renderTime, l.outputChars, l.collectionSize, l.loopIterations,
                        intCount(key, value));
                default -> throw new IllegalArgumentException("unknown template limit '" + key
                        + "' (time, output, list, loops, depth)");
            };
        }
        return l;
    }

    private static Duration duration(String v) {
        try {
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            }
            if (v.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
            }
            return Duration.ofMillis(Math.round(Double.parseDouble(v.endsWith("s") ? v.substring(0, v.length() - 1) : v)
                    * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("template time limit '" + v + "' is not a duration (10s, 500ms, 2m)");
        }
    }

    private static long count(String v, long unit) {
        long scale = 1;
        char last = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
        int power = "kmg".indexOf(last) + 1;
        for (int i = 0; i < power; i++) {
            scale *= unit;
        }
        try {
            return Math.multiplyExact(Long.parseLong(power > 0 ? v.substring(0, v.length() - 1) : v), scale);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("template limit '" + v + "' is not a count (1000, 64k, 1m)");
        }
    }

    private static int intCount(String key, String v) {
        long n = count(v, 1000);
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("template limit " + key + "=" + v + " is too large");
        }
        return (int) n;
    }

    /** As {@link #parse} reads it. */
    @Override
    public String toString() {
        return "time=" + renderTime.toMillis() + "ms,output=" + outputChars + ",list=" + collectionSize + ",loops="
                + loopIterations + ",depth=" + macroDepth;
    }
}
