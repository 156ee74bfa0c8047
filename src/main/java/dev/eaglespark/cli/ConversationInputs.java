package dev.eaglespark.cli;

import dev.eaglespark.data.TemplateLimits;
import dev.eaglespark.spark.DeviceChoice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options of a Spark stage that runs the target over conversation files (features,
 * regenerate): the inputs, the chat template and its budgets, the splits and the device. A
 * picocli mixin: each command declares {@code @Mixin ConversationInputs}.
 */
final class ConversationInputs {
    @Option(names = "--input", paramLabel = "GLOB", required = true, converter = PathKind.UriPath.class,
            description = "conversation JSONL files (.gz, .zst too); repeatable")
    List<String> inputs;

    @Option(names = "--template", paramLabel = "FILE", converter = PathKind.LocalPath.class,
            description = "a chat template file instead of the model's own")
    String template;

    @Option(names = "--template-limits", paramLabel = "L", description = """
            budgets of one template render, KEY=VALUE,... of
            time=10s,output=64m,list=1m,loops=1m,depth=64 (the
            defaults); past one the record is a template_error""")
    TemplateLimits templateLimits = TemplateLimits.defaults();

    @Option(names = "--partitions", paramLabel = "N",
            description = "input splits (default: Spark's default parallelism)")
    @Range(min = 1)
    Integer partitions;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = """
            auto (default: the GPU Spark assigns the task, else the
            CPU; local mode assigns none), gpu (also in local mode:
            task partition mod visible GPUs) or cpu""")
    DeviceChoice device;

    /** The text of --template, or null for the model's own template. */
    String templateText() throws IOException {
        return template == null ? null : Files.readString(Paths.get(template));
    }

    /** --partitions, or 0 for Spark's default parallelism. */
    int partitions() {
        return partitions == null ? 0 : partitions;
    }
}
