package dev.eaglespark.cli;

import dev.eaglespark.regen.RegenerateSettings;
import dev.eaglespark.spark.DeviceChoice;
import java.util.Map;

/** {@code eaglespark regenerate}: the target answers the conversations' user turns again (Spark). */
public final class RegenerateCommand implements ConversationInputs {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(
            Map.entry("model", true), Map.entry("input", true), Map.entry("output", true),
            Map.entry("template", true), Map.entry("max-new-tokens", true), Map.entry("max-prompt-tokens", true),
            Map.entry("temperature", true), Map.entry("top-p", true), Map.entry("seed", true),
            Map.entry("batch-size", true), Map.entry("partitions", true), Map.entry("template-limits", true),
            Map.entry("device", true));

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public String name() {
        return "regenerate";
    }

    @Override
    public String summary() {
        return "the target re-answers every user turn of conversation files (Spark)";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark regenerate --model DIR --input FILES... --output DIR [options]

                EAGLE-3 drafts learn to predict the target's own answers. For each conversation the
                target answers user turn 1, then user turn 2 given its own first answer, and so on,
                through the model's chat template (generation prompt on); the original assistant
                turns are dropped. Output: JSON lines in each record's layout (ShareGPT stays
                ShareGPT; prompt-only records such as MT-bench come back as messages), ids kept,
                readable by 'features'. Records that cannot be answered (prompt too long, template
                error, no user turn) go to DIR/_rejects/ with the reason.

                options:
                  --model DIR            target model directory, or 'stories15M' (shipped to the
                                         executors by the driver)
                  --input GLOB           conversation JSONL files (.gz, .zst too); repeatable
                  --output DIR           output directory, replaced as a whole once the run succeeded;
                                         refused when it overlaps an input or holds foreign files
                  --template FILE        a chat template file instead of the model's own
                  --template-limits L    budgets of one template render, KEY=VALUE,... of
                                         time=10s,output=64m,list=1m,loops=1m,depth=64 (the
                                         defaults); past one the record is a template_error
                  --max-new-tokens N     longest answer (default 1024)
                  --max-prompt-tokens N  longest conversation-so-far (default 3072)
                  --temperature T        0 for greedy decoding (default 0)
                  --top-p P              nucleus for sampling (default 1.0)
                  --seed S               sampling seed; each record and turn derives its own (default 0)
                  --batch-size N         rows decoded together (default: as many as free GPU memory
                                         holds for max-prompt + max-new tokens each, at most 256;
                                         16 on the CPU); a finished row's slot takes the next turn
                                         or conversation at once (continuous batching)
                  --partitions N         input splits (default: Spark's default parallelism)
                  --device D             auto (default: the GPU Spark assigns the task, else the
                                         CPU; local mode assigns none), gpu (also in local mode:
                                         task partition mod visible GPUs) or cpu
                """;
    }

    @Override
    public int run(Args args) throws Exception {
        String model = args.required("model"); // the demo is resolved by SparkStages
        String output = args.required("output");
        String template = args.fileText("template");
        RegenerateSettings s;
        try {
            s = new RegenerateSettings(args.getInt("max-new-tokens", 1024), args.getInt("max-prompt-tokens", 3072),
                    Double.parseDouble(args.get("temperature", "0")), Double.parseDouble(args.get("top-p", "1.0")),
                    Long.parseLong(args.get("seed", "0")), args.getInt("batch-size", 0), args.templateLimits());
            s.sampling();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        DeviceChoice device = args.get("device", "auto", DeviceChoice::parse);
        return SparkStages.regenerate(model, template, s, args.requiredAll("input"), output, args.getInt("partitions", 0),
                device);
    }
}
