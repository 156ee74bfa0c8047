package dev.eaglespark.cli;

import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.spark.FeaturesJob;
import dev.eaglespark.spark.ShippedModels;
import dev.eaglespark.spark.SparkSessions;
import dev.eaglespark.spark.VocabJob;
import java.io.IOException;
import java.util.List;
import org.apache.spark.sql.SparkSession;

/**
 * The commands' only door to Spark: loaded when a Spark stage runs, so the other commands
 * (dump, bench) work with DJL alone on the classpath.
 */
final class SparkStages {
    private SparkStages() {}

    static int features(FeatureSettings s, List<String> inputs, String output, int partitions, long rowGroupBytes,
                        dev.eaglespark.spark.DeviceChoice device) throws Exception {
        SparkSession spark = SparkSessions.getOrCreate("eaglespark features");
        FeaturesJob.Summary summary = FeaturesJob.run(spark, s.withModelDir(model(spark, s.modelDir())), inputs, output,
                partitions, rowGroupBytes, device);
        System.out.println(summary.format());
        return 0;
    }

    static int regenerate(String model, String template, dev.eaglespark.regen.RegenerateSettings s,
                          List<String> inputs, String output, int partitions, dev.eaglespark.spark.DeviceChoice device)
            throws Exception {
        SparkSession spark = SparkSessions.getOrCreate("eaglespark regenerate");
        System.out.println(dev.eaglespark.spark.RegenerateJob.run(spark, model(spark, model), template, s, inputs, output,
                partitions, device).format());
        return 0;
    }

    static int train(dev.eaglespark.train.TrainJob job, dev.eaglespark.spark.TrainStage.Workers workers)
            throws Exception {
        SparkSession spark = SparkSessions.getOrCreate("eaglespark train");
        System.out.println(dev.eaglespark.spark.TrainStage.run(spark, job.withTarget(model(spark, job.target())), workers)
                .format());
        return 0;
    }

    /**
     * A --model/--target value as the stage's tasks name it: the demo model is fetched here, on
     * the driver, and shipped to the executors; anything else is already an absolute URI.
     */
    private static String model(SparkSession spark, String spec) throws IOException {
        return spec.equals(ModelArg.DEMO) ? ShippedModels.ship(spark.sparkContext(), Stories15M.ensure()) : spec;
    }

    static int vocab(String features, String output, int size) throws Exception {
        SparkSession spark = SparkSessions.getOrCreate("eaglespark vocab");
        var v = VocabJob.run(spark, features, output, size);
        System.out.printf("vocab: %d of %d target tokens, coverage %.4f -> %s%n", v.size(), v.targetVocabSize(),
                v.coverage(), output);
        return 0;
    }
}
