package dev.eaglespark.spark;

import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.features.FeatureExtractor;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.InputPlanner;
import dev.eaglespark.features.InputSplit;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.features.TargetFiles;
import dev.eaglespark.io.LocalDirs;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * Stage 1 on Spark: conversation files to per-token target features in Parquet. The driver
 * plans line splits; each task tokenizes its split, runs the target (loaded once per executor,
 * on the task's GPU) and yields rows lazily; Spark's commit protocol makes the output whole
 * and free of duplicates even when tasks are retried. Rejects go to {@code _rejects/}, the
 * run's facts to {@code _manifest.json}; all of it into a staging place that
 * {@link OutputPublisher} makes the output only when the run succeeded.
 */
public final class FeaturesJob {
    private static final Logger LOG = LogManager.getLogger(FeaturesJob.class);
    /** Test hook: fail the first attempt of this partition after its first row (retry tests). */
    public static final String FAIL_ONCE_CONF = "spark.eaglespark.test.failOncePartition";

    /** What a run produced. */
    public record Summary(long rows, long tokens, long maskedTokens, long featureBytes, Map<String, Long> rejects,
                          double seconds) {
        public String format() {
            return String.format("features: %,d rows, %,d tokens (%,d masked), %.0f bytes/token, %.1f rows/s, "
                            + "%,.0f tokens/s, rejects %s", rows, tokens, maskedTokens,
                    tokens == 0 ? 0.0 : (double) featureBytes / tokens, rows / seconds, tokens / seconds, rejects);
        }
    }

    private FeaturesJob() {}

    public static Summary run(SparkSession spark, FeatureSettings settings, List<String> inputs, String output,
                              int partitions, long rowGroupBytes) throws IOException {
        return run(spark, settings, inputs, output, partitions, rowGroupBytes, DeviceChoice.AUTO);
    }

    /** As above, each task on the device {@code device} picks for its partition. */
    public static Summary run(SparkSession spark, FeatureSettings settings, List<String> inputs, String output,
                              int partitions, long rowGroupBytes, DeviceChoice device) throws IOException {
        long start = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration conf = jsc.hadoopConfiguration();
        try (OutputPublisher publisher = OutputPublisher.prepare("features", "--output", output,
                ShippedModels.reads(inputs, settings.modelDir()), conf)) {
            Summary summary = write(spark, jsc, conf, settings, inputs, publisher.staging(), partitions,
                    rowGroupBytes, device, start);
            publisher.publish();
            return summary;
        }
    }

    private static Summary write(SparkSession spark, JavaSparkContext jsc, Configuration conf, FeatureSettings settings,
                                 List<String> inputs, Path out, int partitions, long rowGroupBytes,
                                 DeviceChoice device, long start)
            throws IOException {
        String output = out.toString();
        TargetFiles target = TargetFiles.read(ShippedModels.resolve(settings.modelDir()), conf);
        TargetConfig cfg = target.config();
        int[] aux = settings.auxFor(cfg.numLayers());
        List<InputSplit> splits = InputPlanner.plan(InputPlanner.files(inputs, conf), conf,
                partitions > 0 ? partitions : jsc.defaultParallelism());
        Path rejectsDir = new Path(out, "_rejects");

        LongAccumulator rows = jsc.sc().longAccumulator("features.rows");
        LongAccumulator tokens = jsc.sc().longAccumulator("features.tokens");
        LongAccumulator masked = jsc.sc().longAccumulator("features.masked_tokens");
        LongAccumulator bytes = jsc.sc().longAccumulator("features.bytes");
        CollectionAccumulator<Map<String, Long>> rejects = jsc.sc().collectionAccumulator("features.rejects");
        int failOnce = Integer.parseInt(spark.conf().get(FAIL_ONCE_CONF, "-1"));
        Counters counters = new Counters(rows, tokens, masked, bytes, rejects);

        JavaRDD<InputSplit> rdd = jsc.parallelize(splits, Math.max(1, splits.size()));
        JavaRDD<Row> rowRdd = rdd.mapPartitions(new SplitFeatures(settings, aux, device, new HadoopConf(conf),
                rejectsDir.toString(), counters, failOnce));
        Dataset<Row> df = spark.createDataFrame(rowRdd, FeatureRows.SCHEMA);
        jsc.setJobDescription("eaglespark features: " + splits.size() + " splits -> " + output);
        df.write().mode(SaveMode.ErrorIfExists).option("compression", "zstd")
                .option("parquet.block.size", Long.toString(Math.max(1, rowGroupBytes)))
                // Rows are large (an 8B target's 2048-token row is 64 MB): check the row group's
                // size after every row, not after Parquet's default first 100.
                .option("parquet.page.size.row.check.min", "1").parquet(output);

        Map<String, Long> rejectCounts = PartitionRejects.merge(rejects.value());
        Summary summary = new Summary(rows.value(), tokens.value(), masked.value(), bytes.value(), rejectCounts,
                (System.nanoTime() - start) / 1e9);
        FeatureManifest.Counts counts = new FeatureManifest.Counts(summary.rows(), summary.tokens(),
                summary.maskedTokens(), summary.featureBytes(),
                rejectCounts.values().stream().mapToLong(Long::longValue).sum());
        FeatureManifest.of(new Path(settings.modelDir()).getName(), target, settings, aux, counts, rejectCounts)
                .write(out, conf);
        LOG.info(summary.format());
        jsc.setJobDescription(null);
        return summary;
    }

    /** The accumulators tasks report to (Spark applies only successful attempts' updates). */
    record Counters(LongAccumulator rows, LongAccumulator tokens, LongAccumulator masked, LongAccumulator bytes,
                    CollectionAccumulator<Map<String, Long>> rejects) implements java.io.Serializable {}

    /** Executor side: one split in, feature rows out, lazily. */
    static final class SplitFeatures implements FlatMapFunction<Iterator<InputSplit>, Row> {
        private static final long serialVersionUID = 1L;
        private final FeatureSettings settings;
        private final int[] aux;
        private final DeviceChoice device;
        private final HadoopConf conf;
        private final String rejectsDir;
        private final Counters counters;
        private final int failOnce;

        SplitFeatures(FeatureSettings settings, int[] aux, DeviceChoice device, HadoopConf conf, String rejectsDir,
                      Counters counters, int failOnce) {
            this.settings = settings;
            this.aux = aux;
            this.device = device;
            this.conf = conf;
            this.rejectsDir = rejectsDir;
            this.counters = counters;
            this.failOnce = failOnce;
        }

        @Override
        public Iterator<Row> call(Iterator<InputSplit> splits) throws Exception {
            if (!splits.hasNext()) {
                return java.util.Collections.emptyIterator();
            }
            InputSplit split = splits.next();
            Configuration hadoop = conf.get();
            java.nio.file.Path modelDir = LocalDirs.localize(ShippedModels.resolve(settings.modelDir()), hadoop);
            TaskContext tc = TaskContext.get();
            TargetModel model = ExecutorModels.target(modelDir, device.forTask(tc.partitionId()));
            SampleSource source = new SampleSource(modelDir, settings);
            PartitionRejects sink = new PartitionRejects(rejectsDir, hadoop, tc.partitionId());
            InputStream in = InputPlanner.open(split, hadoop);
            Iterator<TokenizedSample> samples = source.samples(in, split, sink);
            Iterator<FeatureRecord> records = new FeatureExtractor(model, aux, settings.tokensPerBatch(),
                    settings.window()).extract(samples, sink);
            boolean inject = tc.partitionId() == failOnce && tc.attemptNumber() == 0;
            return new Iterator<>() {
                private boolean closed;
                private long emitted;

                @Override
                public boolean hasNext() {
                    boolean more = records.hasNext();
                    if (!more && !closed) {
                        finish();
                    }
                    return more;
                }

                @Override
                public Row next() {
                    if (inject && emitted == 1) {
                        throw new IllegalStateException("injected failure (" + FAIL_ONCE_CONF + ")");
                    }
                    FeatureRecord r = records.next();
                    emitted++;
                    counters.rows().add(1);
                    counters.tokens().add(r.length());
                    counters.masked().add(r.maskedTokens());
                    counters.bytes().add(r.auxHidden().length + r.lastHidden().length);
                    return FeatureRows.of(r);
                }

                private void finish() {
                    closed = true;
                    try {
                        in.close();
                        sink.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    source.close();
                    counters.rejects().add(sink.byCode());
                }
            };
        }
    }
}
