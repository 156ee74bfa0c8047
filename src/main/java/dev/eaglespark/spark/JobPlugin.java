package dev.eaglespark.spark;

import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * The Spark plugin of every eaglespark stage ({@link SparkSessions} adds it to
 * {@code spark.plugins}), so the driver and each executor JVM are set up the same way on any
 * cluster manager: logging with the jar's Log4j configuration ({@link JobLogging}), and on the
 * driver a listener that stops a stage at the first failure no retry can fix
 * ({@link PermanentFailures}). Spark loads it in every executor before the first task, from the
 * application jar.
 */
public final class JobPlugin implements SparkPlugin {
    @Override
    public DriverPlugin driverPlugin() {
        return new DriverPlugin() {
            @Override
            public Map<String, String> init(SparkContext sc, PluginContext context) {
                JobLogging.apply();
                sc.addSparkListener(new PermanentFailures(sc));
                return Map.of();
            }
        };
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext context, Map<String, String> extraConf) {
                JobLogging.apply();
            }
        };
    }
}
