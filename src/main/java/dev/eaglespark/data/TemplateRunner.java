package dev.eaglespark.data;

import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Runs renders on a thread of their own, with a large stack (deeply nested templates) and a
 * hard deadline. The budget's checks stop a render at its next step; a single step that
 * overruns anyway (one engine call that does not return) makes the caller give up on the
 * render at the deadline plus a grace, reject the record, and move on to a fresh thread.
 * Past {@link #MAX_ABANDONED} such renders of one template text in this JVM (all tasks of an
 * executor together) the template is refused outright, so a hostile template costs a bounded
 * number of threads.
 */
final class TemplateRunner {
    private static final Logger LOG = LogManager.getLogger(TemplateRunner.class);
    /** The render thread's stack: deep nesting fails as a budget error instead of overflowing a task thread. */
    static final long STACK_BYTES = 64L << 20;
    static final int MAX_ABANDONED = 3;
    /** Abandoned renders per template text. */
    private static final ConcurrentMap<String, AtomicInteger> ABANDONED = new ConcurrentHashMap<>();

    private final AtomicInteger abandoned;
    private ExecutorService worker = newWorker();

    /** @param template the template's text: the renders abandoned are counted per text */
    TemplateRunner(String template) {
        this.abandoned = ABANDONED.computeIfAbsent(template, t -> new AtomicInteger());
    }

    synchronized <T> T run(RenderBudget budget, Callable<T> render) {
        if (abandoned.get() >= MAX_ABANDONED) {
            throw new TemplateBudgetException("chat template refused: " + abandoned.get()
                    + " of its renders did not stop within their time budget (template limit 'time')");
        }
        Future<T> f = worker.submit(() -> budget.enter(render));
        long limit = budget.limits().renderTime().toMillis();
        // Past the deadline, time for the tripped budget to stop the render at its next step.
        long grace = Math.min(limit, 2_000);
        try {
            try {
                return f.get(limit + grace, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                budget.exceeded("chat template exceeded its render time budget of " + limit
                        + " ms (template limit 'time')");
                try {
                    return f.get(grace, TimeUnit.MILLISECONDS);
                } catch (TimeoutException stuck) {
                    abandon(f);
                    throw new TemplateBudgetException(budget.violation());
                }
            }
        } catch (ExecutionException e) {
            throw translate(e.getCause(), budget);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            budget.exceeded("chat template render interrupted");
            throw new TemplateException("chat template render interrupted");
        }
    }

    private void abandon(Future<?> f) {
        f.cancel(true);
        worker.shutdownNow();
        worker = newWorker();
        LOG.warn("chat template render stuck in one step past its time budget: thread abandoned ({} of at most {})",
                abandoned.incrementAndGet(), MAX_ABANDONED);
    }

    /** What a render thread threw, as the reason its record is rejected. */
    private static RuntimeException translate(Throwable t, RenderBudget budget) {
        if (t instanceof StackOverflowError) {
            return new TemplateBudgetException("chat template nested too deeply for the renderer's "
                    + (STACK_BYTES >> 20) + " MiB stack");
        }
        if (t instanceof OutOfMemoryError) {
            return new TemplateBudgetException("chat template ran out of memory: " + t.getMessage()
                    + (budget.violation() == null ? "" : " (" + budget.violation() + ")"));
        }
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new TemplateException(t.toString());
    }

    private static ExecutorService newWorker() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(null, r, "chat-template-render", STACK_BYTES);
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true); // no thread kept while idle: nothing to close
        return pool;
    }
}
