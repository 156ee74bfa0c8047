package dev.eaglespark.data;

import com.hubspot.jinjava.interpret.CollectionTooBigException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.interpret.errorcategory.BasicTemplateErrorCategory;

/**
 * What one render has spent of its {@link TemplateLimits}. The hooks in the engine (every node
 * rendered, every loop iteration, every filter and string method) check it; the first budget
 * exceeded trips it for good, so that every later check throws at once and the render unwinds
 * within a step, whatever Jinjava catches on the way. The render's thread finds it through
 * {@link #current()}.
 */
final class RenderBudget {
    private static final ThreadLocal<RenderBudget> CURRENT = new ThreadLocal<>();
    /** For engine code run outside a budgeted render (a bare filter in a test): nothing bounded. */
    private static final RenderBudget NONE = new RenderBudget(new TemplateLimits(java.time.Duration.ofDays(365),
            Integer.MAX_VALUE - 16, Integer.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE));

    private final TemplateLimits limits;
    private final long deadline;
    private long iterations;
    private volatile String violation;
    private TemplateError lastSeenError;

    RenderBudget(TemplateLimits limits) {
        this.limits = limits;
        this.deadline = System.nanoTime() + limits.renderTime().toNanos();
    }

    static RenderBudget current() {
        RenderBudget b = CURRENT.get();
        return b == null ? NONE : b;
    }

    /** Runs {@code body} with this budget as the thread's current one. */
    <T> T enter(java.util.concurrent.Callable<T> body) throws Exception {
        RenderBudget previous = CURRENT.get();
        CURRENT.set(this);
        try {
            return body.call();
        } finally {
            CURRENT.set(previous);
        }
    }

    TemplateLimits limits() {
        return limits;
    }

    /** The first budget exceeded, or null. */
    String violation() {
        return violation;
    }

    /** Trips the budget (the first reason wins) and returns the exception to throw. */
    TemplateBudgetException exceeded(String message) {
        if (violation == null) {
            violation = message;
        }
        return new TemplateBudgetException(violation);
    }

    /** Fails if tripped or past the deadline. */
    void checkTime() {
        if (violation != null) {
            throw new TemplateBudgetException(violation);
        }
        if (System.nanoTime() - deadline > 0) {
            throw exceeded("chat template exceeded its render time budget of " + limits.renderTime().toMillis()
                    + " ms (template limit 'time')");
        }
    }

    /**
     * Before each node: time, and the budget errors Jinjava's own limits record without
     * stopping (an output or list past its size, a macro past its depth renders as empty).
     */
    void beforeNode(JinjavaInterpreter interpreter) {
        checkTime();
        TemplateError last = interpreter.getLastError().orElse(null);
        if (last != null && last != lastSeenError) {
            lastSeenError = last;
            String budget = budgetOf(last, limits);
            if (budget != null) {
                throw exceeded(budget);
            }
        }
    }

    /** The budget message for one of Jinjava's own limit errors, or null for any other error. */
    static String budgetOf(TemplateError e, TemplateLimits limits) {
        if (e.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG || causedBy(e, OutputTooBigException.class)) {
            return outputMessage(limits);
        }
        if (e.getReason() == TemplateError.ErrorReason.COLLECTION_TOO_BIG
                || causedBy(e, CollectionTooBigException.class)) {
            return "chat template built a list or map over its size budget of " + limits.collectionSize()
                    + " elements (template limit 'list')";
        }
        if (e.getCategory() == BasicTemplateErrorCategory.CYCLE_DETECTED) {
            return "chat template nested macro calls past its depth budget of " + limits.macroDepth()
                    + " (template limit 'depth'): " + e.getMessage();
        }
        return null;
    }

    /** Whether the error comes from {@code type}: Jinjava records some of its limits as plain errors. */
    private static boolean causedBy(TemplateError e, Class<? extends Throwable> type) {
        for (Throwable t = e.getException(); t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static String outputMessage(TemplateLimits limits) {
        return "chat template output or a string it built exceeds its size budget of " + limits.outputChars()
                + " chars (template limit 'output')";
    }

    void countIteration() {
        checkTime();
        if (++iterations > limits.loopIterations()) {
            throw exceeded("chat template ran more than its loop budget of " + limits.loopIterations()
                    + " iterations (template limit 'loops')");
        }
    }

    /** A string (or filter result) of {@code chars} characters is about to be built. */
    void checkChars(long chars) {
        checkTime();
        if (chars > limits.outputChars()) {
            throw exceeded(outputMessage(limits));
        }
    }

    /** A list of {@code size} elements is about to be built. */
    void checkSize(long size) {
        checkTime();
        if (size > limits.collectionSize()) {
            throw exceeded("chat template built a list or map over its size budget of " + limits.collectionSize()
                    + " elements (template limit 'list')");
        }
    }
}
