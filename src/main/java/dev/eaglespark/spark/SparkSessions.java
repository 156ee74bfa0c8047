package dev.eaglespark.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session of a stage: the master spark-submit gives, else local mode on every core,
 * with {@link JobPlugin} (logging, failures no retry can fix) on the driver and every executor.
 */
public final class SparkSessions {
    private SparkSessions() {}

    public static SparkSession getOrCreate(String appName) {
        SparkConf conf = new SparkConf().setAppName(appName);
        if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
        }
        // Quiet defaults for the embedded run; spark-submit settings win.
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        String plugins = conf.get("spark.plugins", "");
        if (!plugins.contains(JobPlugin.class.getName())) {
            conf.set("spark.plugins", plugins.isBlank() ? JobPlugin.class.getName()
                    : plugins + "," + JobPlugin.class.getName());
        }
        return SparkSession.builder().config(conf).getOrCreate();
    }
}
