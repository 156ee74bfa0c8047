package dev.eaglespark.cli;

import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.features.FeatureSettings;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code eaglespark features}: stage 1, conversations to target features in Parquet (Spark). */
@CommandLine.Command(name = "features", header = "stage 1: conversations to per-token target features in Parquet (Spark)",
        customSynopsis = "usage: eaglespark features --model DIR --input FILES... --output DIR [options]",
        description = """
                Renders each conversation with the model's chat template, tokenizes it with an
                assistant-only loss mask, runs the target and writes one Parquet row per sample:
                id, input_ids, loss_mask, aux_hidden (fp16 [T, 3H]), last_hidden (fp16 [T, H]),
                num_tokens, num_masked (zstd). The output is written beside --output and replaces it
                only when the run succeeded (a failed rerun leaves the previous output; retried tasks
                never duplicate rows); an --output that overlaps an input or holds files no previous
                features run wrote is refused before any work. _manifest.json
                records the target, tokenizer, template, aux layers and counts, _rejects/ every
                record that was not written and why. Runs on the Spark master spark-submit gives,
                else local mode on all cores; each task runs where --device says.""")
public final class FeaturesCommand implements Command {
    @Option(names = "--model", paramLabel = "DIR", required = true, converter = PathKind.UriModel.class,
            description = """
                    target model directory (local, hdfs:// or s3a://), or
                    'stories15M' for the demo model (the driver fetches it
                    and ships it to the executors)""")
    String model;

    @Mixin
    ConversationInputs conversations;

    @Option(names = "--output", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = "where the Parquet files go (file://, hdfs://, s3a://)")
    String output;

    @Option(names = "--aux-layers", paramLabel = "LIST", split = ",", description = """
            hidden-state indices to fuse, transformers' numbering
            (0 = embeddings, i = output of layer i-1); default 2,L/2,L-3,
            the inputs of those layers that SGLang and vLLM feed the draft""")
    @Range(min = 0)
    List<Integer> auxLayers;

    @Option(names = "--max-length", paramLabel = "N", defaultValue = "2048",
            description = "tokens per sample (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxLength;

    @Option(names = "--truncation", paramLabel = "P", defaultValue = "truncate",
            description = "truncate (default) or drop samples over --max-length")
    TruncationPolicy truncation;

    @Option(names = "--tokens-per-batch", paramLabel = "N", defaultValue = "8192",
            description = "padded tokens per forward pass (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int tokensPerBatch;

    @Option(names = "--window", paramLabel = "N", defaultValue = "64",
            description = "samples sorted by length together before batching (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int window;

    @Option(names = "--row-group-mb", paramLabel = "N", defaultValue = "256", description = """
            Parquet row group size (default ${DEFAULT-VALUE}); 0: one sample per
            row group (the finest unit training shards and shuffles)""")
    @Range(min = 0)
    int rowGroupMb;

    @Override
    public int run() throws Exception {
        // the demo model is resolved by SparkStages
        FeatureSettings s = new FeatureSettings(model, ints(auxLayers), maxLength, truncation,
                conversations.templateText(), tokensPerBatch, window, conversations.templateLimits);
        return SparkStages.features(s, conversations.inputs, output, conversations.partitions(),
                (long) rowGroupMb << 20, conversations.device);
    }

    /** A list option's integers as an array, or null when it was not given. */
    static int[] ints(List<Integer> values) {
        return values == null ? null : values.stream().mapToInt(Integer::intValue).toArray();
    }
}
