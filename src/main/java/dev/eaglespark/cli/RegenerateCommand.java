package dev.eaglespark.cli;

import dev.eaglespark.regen.RegenerateSettings;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code eaglespark regenerate}: the target answers the conversations' user turns again (Spark). */
@CommandLine.Command(name = "regenerate", header = "the target re-answers every user turn of conversation files (Spark)",
        customSynopsis = "usage: eaglespark regenerate --model DIR --input FILES... --output DIR [options]",
        description = """
                EAGLE-3 drafts learn to predict the target's own answers. For each conversation the
                target answers user turn 1, then user turn 2 given its own first answer, and so on,
                through the model's chat template (generation prompt on); the original assistant
                turns are dropped. Output: JSON lines in each record's layout (ShareGPT stays
                ShareGPT; prompt-only records such as MT-bench come back as messages), ids kept,
                readable by 'features'. Records that cannot be answered (prompt too long, template
                error, no user turn) go to DIR/_rejects/ with the reason.""")
public final class RegenerateCommand implements Command {
    @Option(names = "--model", paramLabel = "DIR", required = true, converter = PathKind.UriModel.class,
            description = """
                    target model directory, or 'stories15M' (shipped to the
                    executors by the driver)""")
    String model;

    @Mixin
    ConversationInputs conversations;

    @Option(names = "--output", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = """
                    output directory, replaced as a whole once the run succeeded;
                    refused when it overlaps an input or holds foreign files""")
    String output;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "1024",
            description = "longest answer (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxNewTokens;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", defaultValue = "3072",
            description = "longest conversation-so-far (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxPromptTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "0 for greedy decoding (default ${DEFAULT-VALUE})")
    @Range(min = 0)
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "nucleus for sampling (default ${DEFAULT-VALUE})")
    @Range(above = 0, max = 1)
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "sampling seed; each record and turn derives its own (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--batch-size", paramLabel = "N", description = """
            rows decoded together (default: as many as free GPU memory
            holds for max-prompt + max-new tokens each, at most 256;
            16 on the CPU); a finished row's slot takes the next turn
            or conversation at once (continuous batching)""")
    @Range(min = 1)
    Integer batchSize;

    @Override
    public int run() throws Exception {
        RegenerateSettings s = new RegenerateSettings(maxNewTokens, maxPromptTokens, temperature, topP, seed,
                batchSize == null ? 0 : batchSize, conversations.templateLimits);
        // the demo model is resolved by SparkStages
        return SparkStages.regenerate(model, conversations.templateText(), s, conversations.inputs, output,
                conversations.partitions(), conversations.device);
    }
}
