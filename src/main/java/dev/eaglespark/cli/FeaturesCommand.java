package dev.eaglespark.cli;

import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.spark.DeviceChoice;
import java.util.Locale;
import java.util.Map;

/** {@code eaglespark features}: stage 1, conversations to target features in Parquet (Spark). */
public final class FeaturesCommand implements ConversationInputs {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(
            Map.entry("model", true), Map.entry("input", true), Map.entry("output", true),
            Map.entry("aux-layers", true), Map.entry("max-length", true), Map.entry("truncation", true),
            Map.entry("template", true), Map.entry("tokens-per-batch", true), Map.entry("window", true),
            Map.entry("partitions", true), Map.entry("row-group-mb", true), Map.entry("template-limits", true),
            Map.entry("device", true));

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public String name() {
        return "features";
    }

    @Override
    public String summary() {
        return "stage 1: conversations to per-token target features in Parquet (Spark)";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark features --model DIR --input FILES... --output DIR [options]

                Renders each conversation with the model's chat template, tokenizes it with an
                assistant-only loss mask, runs the target and writes one Parquet row per sample:
                id, input_ids, loss_mask, aux_hidden (fp16 [T, 3H]), last_hidden (fp16 [T, H]),
                num_tokens, num_masked (zstd). The output is written beside --output and replaces it
                only when the run succeeded (a failed rerun leaves the previous output; retried tasks
                never duplicate rows); an --output that overlaps an input or holds files no previous
                features run wrote is refused before any work. _manifest.json
                records the target, tokenizer, template, aux layers and counts, _rejects/ every
                record that was not written and why. Runs on the Spark master spark-submit gives,
                else local mode on all cores; each task runs where --device says.

                options:
                  --model DIR           target model directory (local, hdfs:// or s3a://), or
                                        'stories15M' for the demo model (the driver fetches it
                                        and ships it to the executors)
                  --input GLOB          conversation JSONL files (.gz, .zst too); repeatable
                  --output DIR          where the Parquet files go (file://, hdfs://, s3a://)
                  --aux-layers LIST     hidden-state indices to fuse, transformers' numbering
                                        (0 = embeddings, i = output of layer i-1); default 2,L/2,L-3,
                                        the inputs of those layers that SGLang and vLLM feed the draft
                  --max-length N        tokens per sample (default 2048)
                  --truncation P        truncate (default) or drop samples over --max-length
                  --template FILE       a chat template file instead of the model's own
                  --template-limits L   budgets of one template render, KEY=VALUE,... of
                                        time=10s,output=64m,list=1m,loops=1m,depth=64 (the
                                        defaults); past one the record is a template_error
                  --tokens-per-batch N  padded tokens per forward pass (default 8192)
                  --window N            samples sorted by length together before batching (default 64)
                  --partitions N        input splits (default: Spark's default parallelism)
                  --row-group-mb N      Parquet row group size (default 256); 0: one sample per
                                        row group (the finest unit training shards and shuffles)
                  --device D            auto (default: the GPU Spark assigns the task, else the
                                        CPU; local mode assigns none), gpu (also in local mode:
                                        task partition mod visible GPUs) or cpu
                """;
    }

    @Override
    public int run(Args args) throws Exception {
        String model = args.required("model"); // the demo is resolved by SparkStages
        String output = args.required("output");
        int[] aux = args.getInts("aux-layers", null);
        TruncationPolicy truncation = parseTruncation(args.get("truncation", "truncate"));
        String template = args.fileText("template");
        FeatureSettings s = new FeatureSettings(model, aux, args.getInt("max-length", 2048), truncation, template,
                args.getInt("tokens-per-batch", 8192), args.getInt("window", 64), args.templateLimits());
        DeviceChoice device = args.get("device", "auto", DeviceChoice::parse);
        return SparkStages.features(s, args.requiredAll("input"), output, args.getInt("partitions", 0),
                (long) args.getInt("row-group-mb", 256) << 20, device);
    }

    static TruncationPolicy parseTruncation(String s) {
        try {
            return TruncationPolicy.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--truncation must be truncate or drop, got '" + s + "'");
        }
    }
}
