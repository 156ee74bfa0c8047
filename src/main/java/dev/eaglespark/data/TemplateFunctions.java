package dev.eaglespark.data;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * The globals transformers adds to a chat template's environment, and Jinja2's {@code range}
 * held to the render's budget. Jinjava calls functions as static methods, so the clock of the
 * render in progress travels in a thread-local.
 */
public final class TemplateFunctions {
    private static final ThreadLocal<Clock> CLOCK = ThreadLocal.withInitial(Clock::systemDefaultZone);

    private TemplateFunctions() {}

    /** {@code raise_exception(msg)}: the template rejects the conversation. */
    public static Object raiseException(Object message) {
        throw new TemplateException(String.valueOf(message));
    }

    /** {@code strftime_now(fmt)}: the current time, from the clock of this render. */
    public static String strftimeNow(String format) {
        return PyStrftime.format(format, ZonedDateTime.now(CLOCK.get()));
    }

    /**
     * Python's {@code range(stop)}, {@code range(start, stop[, step])}, refused past the render's
     * list budget (Jinjava's own would silently stop at its limit, or read a huge bound as the
     * limit).
     */
    public static List<Integer> range(Object first, Object... rest) {
        Object[] args = new Object[1 + (rest == null ? 0 : rest.length)];
        args[0] = first;
        if (rest != null) {
            System.arraycopy(rest, 0, args, 1, rest.length);
        }
        if (args.length > 3) {
            throw new TemplateException("range expected at most 3 arguments, got " + args.length);
        }
        long start = args.length == 1 ? 0 : integer(args[0]);
        long stop = integer(args[args.length == 1 ? 0 : 1]);
        long step = args.length == 3 ? integer(args[2]) : 1;
        if (step == 0) {
            throw new TemplateException("range() arg 3 must not be zero");
        }
        long count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                : (start > stop ? (start - stop - step - 1) / -step : 0);
        RenderBudget.current().checkSize(count);
        List<Integer> out = new ArrayList<>((int) count);
        for (long i = 0, v = start; i < count; i++, v += step) {
            out.add((int) v);
        }
        return out;
    }

    /** An int argument of range: an integral number (or its decimal string, as Jinjava accepts). */
    private static long integer(Object o) {
        try {
            if (o instanceof Number n) {
                BigDecimal d = new BigDecimal(n.toString());
                return d.intValueExact();
            }
            if (o instanceof CharSequence s) {
                return Integer.parseInt(s.toString().trim());
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // below
        }
        throw new TemplateException("range() arguments must be integers in the int range, got " + o);
    }

    static void withClock(Clock clock, Runnable body) {
        Clock previous = CLOCK.get();
        CLOCK.set(clock);
        try {
            body.run();
        } finally {
            CLOCK.set(previous);
        }
    }
}
