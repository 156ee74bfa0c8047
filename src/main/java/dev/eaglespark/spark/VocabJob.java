package dev.eaglespark.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The vocab stage: counts target tokens under the loss mask across all feature rows (each
 * partition into one dense array, summed in a tree) and keeps the top K as the draft
 * vocabulary. Writes {@code vocab.safetensors} (t2d, d2t, token_counts) and {@code vocab.json},
 * published together once both are complete ({@link OutputPublisher}).
 */
public final class VocabJob {
    private static final Logger LOG = LogManager.getLogger(VocabJob.class);
    public static final String TENSORS = "vocab.safetensors";
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
        int vocab = targetVocabSize(featureFiles, conf);
        spark.sparkContext().setJobDescription("eaglespark vocab: top " + draftVocabSize + " of " + vocab
                + " tokens from " + features);
        JavaRDD<Row> rows = spark.read().parquet(featureFiles).select("input_ids", "loss_mask").javaRDD();
        long[] counts = rows.mapPartitions((Iterator<Row> it) -> {
            long[] c = new long[vocab];
            while (it.hasNext()) {
                Row r = it.next();
                List<Integer> ids = r.getList(0);
                byte[] mask = (byte[]) r.get(1);
                for (int i = 0; i < mask.length; i++) {
                    if (mask[i] != 0) {
                        c[ids.get(i)]++;
                    }
                }
            }
            return List.of(c).iterator();
        }).treeReduce(VocabJob::add);
        DraftVocab v = DraftVocab.fromCounts(counts, draftVocabSize);
        FileSystem fs = out.getFileSystem(conf);
        fs.mkdirs(out);
        try (OutputStream os = fs.create(new Path(out, TENSORS), true)) {
            v.toSafeTensors().writeTo(os);
        }
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

    private static int targetVocabSize(String features, Configuration conf) throws IOException {
        Path manifest = new Path(features, FeatureManifest.FILE);
        try (InputStream in = manifest.getFileSystem(conf).open(manifest)) {
            return new ObjectMapper().readTree(in).path("target").path("vocab_size").asInt();
        } catch (java.io.FileNotFoundException e) {
            throw new IOException(features + " has no " + FeatureManifest.FILE + ": not the output of a features run");
        }
    }
}
