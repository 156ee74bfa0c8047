package dev.eaglespark.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.SparkSession;

/**
 * The vocab stage: counts target tokens under the loss mask across all feature rows (each
 * partition into one dense array, summed in a tree) and keeps the top K as the draft
 * vocabulary. Writes {@value DraftVocab#FILE} (t2d, d2t, token_counts) and {@code vocab.json},
 * published together once both are complete ({@link OutputPublisher}).
 */
public final class VocabJob {
    private static final Logger LOG = LogManager.getLogger(VocabJob.class);
    public static final String SUMMARY = "vocab.json";

    private VocabJob() {}

    public static DraftVocab run(SparkSession spark, String features, String output, int draftVocabSize)
            throws IOException {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        try (OutputPublisher publisher = OutputPublisher.prepare("vocab", "--output", output, List.of(features),
                conf)) {
            DraftVocab v = count(spark, conf, OutputPublisher.current(features, conf), features, publisher.staging(),
                    draftVocabSize);
            publisher.publish();
            return v;
        }
    }

    /** Counts over {@code featureFiles} (the features' current files) and writes into {@code out}. */
    private static DraftVocab count(SparkSession spark, Configuration conf, String featureFiles, String features,
                                    Path out, int draftVocabSize) throws IOException {
        FeatureManifest.Target target = FeatureManifest.read(features, conf).target();
        if (target == null || target.vocabSize() == null) {
            throw new IOException(features + ": its " + FeatureManifest.FILE + " records no target vocab_size");
        }
        int vocab = target.vocabSize();
        spark.sparkContext().setJobDescription("eaglespark vocab: top " + draftVocabSize + " of " + vocab
                + " tokens from " + features);
        long[] counts = FeatureRows.tokens(spark, featureFiles).mapPartitions((Iterator<FeatureRows.Tokens> it) -> {
            long[] c = new long[vocab];
            while (it.hasNext()) {
                FeatureRows.Tokens r = it.next();
                for (int i = 0; i < r.lossMask().length; i++) {
                    if (r.lossMask()[i] != 0) {
                        c[r.ids()[i]]++;
                    }
                }
            }
            return List.of(c).iterator();
        }).treeReduce(VocabJob::add);
        DraftVocab v = DraftVocab.fromCounts(counts, draftVocabSize);
        FileSystem fs = out.getFileSystem(conf);
        fs.mkdirs(out);
        v.write(out, conf);
        ObjectNode summary = new ObjectMapper().createObjectNode();
        summary.put("features", features);
        summary.put("target_vocab_size", vocab);
        summary.put("draft_vocab_size", v.size());
        summary.put("masked_tokens", java.util.Arrays.stream(counts).sum());
        summary.put("distinct_tokens", java.util.Arrays.stream(counts).filter(c -> c > 0).count());
        summary.put("coverage", v.coverage());
        try (OutputStream os = fs.create(new Path(out, SUMMARY), true)) {
            os.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
        }
        LOG.info("vocab: {} of {} tokens kept, coverage {} of masked tokens", v.size(), vocab,
                String.format("%.4f", v.coverage()));
        spark.sparkContext().setJobDescription(null);
        return v;
    }

    private static long[] add(long[] a, long[] b) {
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
        return a;
    }
}
