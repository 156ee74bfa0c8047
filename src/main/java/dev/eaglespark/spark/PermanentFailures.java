package dev.eaglespark.spark;

import java.util.Set;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Stops a stage at the first task failure that no retry can fix, with the cause in the job's
 * error. Spark retries a failed task ({@code spark.task.maxFailures}) and a failed barrier
 * stage ({@code spark.stage.maxConsecutiveAttempts}) blindly: a missing file, libtorch natives
 * that do not load or a corrupt model fail every attempt again, and the driver ends with
 * "finished unsuccessfully". Such a failure cancels the stage here, and the driver's error reads
 * {@code Job N cancelled because task P of stage S failed with an error no retry can fix: CAUSE}.
 * Everything else (a lost executor, a broken ring connection, a timeout) keeps Spark's retries:
 * the train stage resumes from its checkpoint on them.
 */
final class PermanentFailures extends SparkListener {
    private static final Logger LOG = LogManager.getLogger(PermanentFailures.class);
    /** Errors that an attempt on another executor or later would meet again. */
    private static final Set<String> PERMANENT = Set.of(
            "java.io.FileNotFoundException", "java.nio.file.NoSuchFileException",   // a missing file
            "java.lang.UnsatisfiedLinkError", "ai.djl.engine.EngineException",      // natives that do not load
            "java.lang.ExceptionInInitializerError", "java.lang.NoClassDefFoundError", // ... or a class that cannot
            "dev.eaglespark.model.ModelLoadException", "dev.eaglespark.tensors.TensorFormatException", // a bad model
            "dev.eaglespark.train.TargetCheck$MismatchException"); // features of another target
    private final SparkContext sc;

    PermanentFailures(SparkContext sc) {
        this.sc = sc;
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.reason() instanceof ExceptionFailure failure) {
            String cause = permanentCause(failure.fullStackTrace());
            if (cause != null) {
                String why = String.format("task %d of stage %d failed with an error no retry can fix: %s",
                        end.taskInfo().index(), end.stageId(), cause);
                LOG.error("cancelling stage {}: {}", end.stageId(), why);
                sc.cancelStage(end.stageId(), why);
            }
        }
    }

    /**
     * The first exception of a printed stack trace (the exception itself, then its causes) that
     * is permanent, as {@code class: message}; null when none is.
     */
    static String permanentCause(String stackTrace) {
        if (stackTrace == null) {
            return null;
        }
        boolean first = true;
        for (String line : stackTrace.split("\n")) {
            String exception = first ? line : line.startsWith("Caused by: ") ? line.substring(11) : null;
            first = false;
            if (exception == null) {
                continue;
            }
            int colon = exception.indexOf(':');
            String name = (colon < 0 ? exception : exception.substring(0, colon)).strip();
            if (PERMANENT.contains(name)) {
                return exception.strip();
            }
        }
        return null;
    }
}
