package dev.eaglespark.data;

import java.time.Clock;
import java.time.ZonedDateTime;

/**
 * The globals transformers adds to a chat template's environment. Jinjava calls functions as
 * static methods, so the clock of the render in progress travels in a thread-local.
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
