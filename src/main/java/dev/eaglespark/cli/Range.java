package dev.eaglespark.cli;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The values a numeric option accepts, beside its {@code @Option}: every number it holds (each
 * one of a list) must be at least {@link #min}, above {@link #above} and at most {@link #max}.
 * {@link OptionParser} checks it after parsing, before the command runs, so a bad value is a
 * usage error (exit 2) naming the option, the value and the range, not a failure deep inside a
 * Spark job.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
@interface Range {
    /** The smallest value allowed. */
    double min() default Double.NEGATIVE_INFINITY;

    /** Values must be greater than this one (an open bound, as for a learning rate: above 0). */
    double above() default Double.NEGATIVE_INFINITY;

    /** The largest value allowed. */
    double max() default Double.POSITIVE_INFINITY;
}
