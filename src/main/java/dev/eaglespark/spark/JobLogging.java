package dev.eaglespark.spark;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.DefaultConfiguration;

/**
 * The Log4j configuration of a Spark JVM: the jar's {@code log4j2.xml} (the build copies
 * {@code conf/log4j2.xml} into it) wherever nobody configured logging. A driver started by
 * spark-submit and every executor start with Spark's built-in profile, since the application
 * jar is not on their classpath when Log4j initializes; this replaces that profile. A JVM given
 * its own configuration ({@code -Dlog4j2.configurationFile}, a {@code log4j2.*} in
 * {@code $SPARK_CONF_DIR}) keeps it.
 */
final class JobLogging {
    /** Spark's built-in profile, which it loads when Log4j found no configuration. */
    private static final String SPARK_DEFAULT = "log4j2-defaults.properties";

    private JobLogging() {}

    static void apply() {
        if (System.getProperty("log4j2.configurationFile") != null
                || System.getProperty("log4j.configurationFile") != null) {
            return;
        }
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        URI current = ctx.getConfigLocation();
        boolean unconfigured = ctx.getConfiguration() instanceof DefaultConfiguration
                || (current != null && current.toString().endsWith(SPARK_DEFAULT));
        URL ours = JobLogging.class.getResource("/log4j2.xml");
        if (unconfigured && ours != null) {
            try {
                ctx.setConfigLocation(ours.toURI());
            } catch (URISyntaxException e) {
                throw new IllegalStateException("bad resource URL " + ours, e);
            }
        }
    }
}
