package dev.eaglespark.spark;

import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationJson;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.features.InputPlanner;
import dev.eaglespark.features.InputSplit;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.io.LocalDirs;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.regen.RegenerateSettings;
import dev.eaglespark.regen.Regenerator;
import dev.eaglespark.regen.StopTokens;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
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
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The nightly first stage: the target answers every user turn of the input conversations
 * again (EAGLE-3 drafts learn the target's own answers). Output: JSON lines in each record's
 * layout with the same ids, replacing the output directory as a whole once the run succeeded
 * ({@link OutputPublisher}); rejects in {@code _rejects/}.
 */
public final class RegenerateJob {
    private static final Logger LOG = LogManager.getLogger(RegenerateJob.class);

    /** What a run produced. */
    public record Summary(long conversations, long answers, long stopped, long tokens, Map<String, Long> rejects,
                          double seconds) {
        public String format() {
            return String.format("regenerate: %,d conversations, %,d answers (%,d ended at a stop token, %,d cut at "
                            + "--max-new-tokens), %,d tokens generated in %.1f s: %.1f conversations/s, %,.1f tokens/s "
                            + "end to end, rejects %s", conversations, answers, stopped, answers - stopped,
                    tokens, seconds, conversations / seconds, tokens / seconds, rejects);
        }
    }

    private RegenerateJob() {}

    public static Summary run(SparkSession spark, String modelDir, String templateText, RegenerateSettings settings,
                              List<String> inputs, String output, int partitions) throws IOException {
        return run(spark, modelDir, templateText, settings, inputs, output, partitions, DeviceChoice.AUTO);
    }

    /** As above, each task on the device {@code device} picks for its partition. */
    public static Summary run(SparkSession spark, String modelDir, String templateText, RegenerateSettings settings,
                              List<String> inputs, String output, int partitions, DeviceChoice device)
            throws IOException {
        long start = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration conf = jsc.hadoopConfiguration();
        try (OutputPublisher publisher = OutputPublisher.prepare("regenerate", "--output", output,
                ShippedModels.reads(inputs, modelDir), conf)) {
            Summary s = write(spark, jsc, conf, modelDir, templateText, settings, inputs,
                    publisher.staging().toString(), partitions, device, start);
            publisher.publish();
            LOG.info(s.format());
            return s;
        }
    }

    private static Summary write(SparkSession spark, JavaSparkContext jsc, Configuration conf, String modelDir,
                                 String templateText, RegenerateSettings settings, List<String> inputs, String output,
                                 int partitions, DeviceChoice device, long start) throws IOException {
        List<InputSplit> splits = InputPlanner.plan(InputPlanner.files(inputs, conf), conf,
                partitions > 0 ? partitions : jsc.defaultParallelism());
        LongAccumulator conversations = jsc.sc().longAccumulator("regenerate.conversations");
        LongAccumulator answers = jsc.sc().longAccumulator("regenerate.answers");
        LongAccumulator stopped = jsc.sc().longAccumulator("regenerate.stopped");
        LongAccumulator tokens = jsc.sc().longAccumulator("regenerate.tokens");
        CollectionAccumulator<Map<String, Long>> rejects = jsc.sc().collectionAccumulator("regenerate.rejects");
        JavaRDD<String> lines = jsc.parallelize(splits, Math.max(1, splits.size())).mapPartitions(
                new SplitAnswers(modelDir, templateText, settings, device, new HadoopConf(conf),
                        new Path(output, "_rejects").toString(), conversations, answers, stopped, tokens, rejects));
        jsc.setJobDescription("eaglespark regenerate: " + splits.size() + " splits -> " + output);
        spark.createDataset(lines.rdd(), Encoders.STRING()).write().mode(SaveMode.ErrorIfExists).text(output);
        jsc.setJobDescription(null);
        Summary s = new Summary(conversations.value(), answers.value(), stopped.value(), tokens.value(),
                PartitionRejects.merge(rejects.value()), (System.nanoTime() - start) / 1e9);
        return s;
    }

    /** Executor side: one split of conversations in, regenerated JSON lines out. */
    static final class SplitAnswers implements FlatMapFunction<Iterator<InputSplit>, String> {
        private static final long serialVersionUID = 1L;
        private final String modelDir;
        private final String templateText;
        private final RegenerateSettings settings;
        private final DeviceChoice device;
        private final HadoopConf conf;
        private final String rejectsDir;
        private final LongAccumulator conversations;
        private final LongAccumulator answers;
        private final LongAccumulator stopped;
        private final LongAccumulator tokens;
        private final CollectionAccumulator<Map<String, Long>> rejects;

        SplitAnswers(String modelDir, String templateText, RegenerateSettings settings, DeviceChoice device,
                     HadoopConf conf,
                     String rejectsDir, LongAccumulator conversations, LongAccumulator answers, LongAccumulator stopped,
                     LongAccumulator tokens, CollectionAccumulator<Map<String, Long>> rejects) {
            this.modelDir = modelDir;
            this.templateText = templateText;
            this.settings = settings;
            this.device = device;
            this.conf = conf;
            this.rejectsDir = rejectsDir;
            this.conversations = conversations;
            this.answers = answers;
            this.stopped = stopped;
            this.tokens = tokens;
            this.rejects = rejects;
        }

        @Override
        public Iterator<String> call(Iterator<InputSplit> splits) throws Exception {
            List<String> out = new ArrayList<>();
            if (!splits.hasNext()) {
                return out.iterator();
            }
            InputSplit split = splits.next();
            Configuration hadoop = conf.get();
            java.nio.file.Path dir = LocalDirs.localize(ShippedModels.resolve(modelDir), hadoop);
            TargetModel model = ExecutorModels.target(dir, device.forTask(TaskContext.get().partitionId()));
            try (SampleSource source = new SampleSource(dir, templateText, settings.maxPromptTokens(),
                         TruncationPolicy.DROP, settings.templateLimits());
                 PartitionRejects sink = new PartitionRejects(rejectsDir, hadoop, TaskContext.get().partitionId());
                 InputStream in = InputPlanner.open(split, hadoop)) {
                java.util.Set<Long> stops = StopTokens.of(dir, source.tokenizer());
                Regenerator regen = new Regenerator(model, source.encoder(), source.tokenizer(), stops, settings);
                ConversationReader reader = SampleSource.conversations(in, split, sink);
                for (Conversation c : regen.regenerate(reader, sink)) {
                    out.add(ConversationJson.toLine(c));
                    conversations.add(1);
                    answers.add(c.messages().stream().filter(m -> m.role() == dev.eaglespark.data.Role.ASSISTANT)
                            .count());
                }
                tokens.add(regen.lastStats().generated());
                stopped.add(regen.lastStats().stopped());
                rejects.add(sink.byCode());
            }
            return out.iterator();
        }
    }
}
