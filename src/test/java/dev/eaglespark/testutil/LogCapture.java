package dev.eaglespark.testutil;

import java.io.StringWriter;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;

/** What one class logs at INFO and above while open, as "LEVEL message" lines. */
public final class LogCapture implements AutoCloseable {
    private final StringWriter out = new StringWriter();
    private final String name;
    private final WriterAppender appender;

    public LogCapture(Class<?> source) {
        name = source.getName();
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        appender = WriterAppender.newBuilder().setName("capture-" + name).setTarget(out)
                .setLayout(PatternLayout.newBuilder().withPattern("%level %msg%n").build()).build();
        appender.start();
        LoggerConfig logger = new LoggerConfig(name, Level.INFO, true);
        logger.addAppender(appender, Level.INFO, null);
        config.addLogger(name, logger);
        ctx.updateLoggers();
    }

    public String text() {
        return out.toString();
    }

    @Override
    public void close() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        ctx.getConfiguration().removeLogger(name);
        ctx.updateLoggers();
        appender.stop();
    }
}
