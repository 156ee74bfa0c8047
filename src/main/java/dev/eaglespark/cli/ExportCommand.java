package dev.eaglespark.cli;

import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.train.CheckpointExport;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/** {@code eaglespark export}: a training checkpoint as the serving draft that evaluate, SGLang and vLLM load. */
public final class ExportCommand implements LegacyCommand {
    private static final Map<String, Boolean> OPTIONS = Map.of("checkpoint", true, "features", true, "target", true,
            "vocab", true, "shared-head", false, "output", true, "engine", true);

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("checkpoint", PathKind.URI, "features", PathKind.URI, "target", PathKind.URI,
                "vocab", PathKind.URI, "output", PathKind.URI);
    }

    @Override
    public String name() {
        return "export";
    }

    @Override
    public String summary() {
        return "write a training checkpoint as the serving draft (what train --export writes at the end)";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark export --checkpoint DIR --features DIR --target DIR (--vocab FILE | --shared-head)
                                         --output DIR [--engine E]

                Writes the draft of one committed checkpoint (CHECKPOINTS/step-NNNNNNNN) in the serving
                layout that 'train --export' writes at the end of a run (config.json, model.safetensors
                in bf16, d2t, t2d), so that any checkpoint along a run can be evaluated or served. Give
                the run's own features (for the aux layers), target and vocabulary.

                options:
                  --checkpoint DIR   a committed checkpoint directory (any Hadoop URI)
                  --features DIR     the features the run trained on (their _manifest.json)
                  --target DIR       the target model directory (or 'stories15M')
                  --vocab FILE       the run's vocab.safetensors (standard draft)
                  --shared-head      the draft shares the target's lm_head (no --vocab)
                  --output DIR       the export directory (replaced only when complete; refused
                                     when it holds foreign files)
                  --engine E         sglang (default) or vllm: aux layer id convention of the export
                """;
    }

    @Override
    public int run(Args a) throws Exception {
        boolean shared = a.has("shared-head");
        if (shared == a.has("vocab")) {
            throw new UsageException("give --vocab FILE (standard draft) or --shared-head, not both");
        }
        ServingEngine engine = a.get("engine", "sglang", ServingEngine::parse);
        CheckpointExport.write(a.required("checkpoint"), a.required("features"), ModelArg.resolve(a.required("target")),
                a.get("vocab", null), a.required("output"), engine, new Configuration());
        System.out.println("export: " + a.required("checkpoint") + " -> " + a.required("output"));
        return 0;
    }
}
