package dev.eaglespark.cli;

import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.train.CheckpointExport;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code eaglespark export}: a training checkpoint as the serving draft that evaluate, SGLang and vLLM load. */
@CommandLine.Command(name = "export",
        header = "write a training checkpoint as the serving draft (what train --export writes at the end)",
        customSynopsis = """
                usage: eaglespark export --checkpoint DIR --features DIR --target DIR (--vocab FILE | --shared-head)
                                         --output DIR [--engine E]""",
        description = """
                Writes the draft of one committed checkpoint (CHECKPOINTS/step-NNNNNNNN) in the serving
                layout that 'train --export' writes at the end of a run (config.json, model.safetensors
                in bf16, d2t, t2d), so that any checkpoint along a run can be evaluated or served. Give
                the run's own features (for the aux layers), target and vocabulary.""")
public final class ExportCommand implements Command {
    @Option(names = "--checkpoint", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = "a committed checkpoint directory (any Hadoop URI)")
    String checkpoint;

    @Option(names = "--features", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = "the features the run trained on (their _manifest.json)")
    String features;

    @Option(names = "--target", paramLabel = "DIR", required = true, converter = PathKind.UriModel.class,
            description = "the target model directory (or 'stories15M')")
    String target;

    @Option(names = "--vocab", paramLabel = "FILE", converter = PathKind.UriPath.class,
            description = "the run's vocab.safetensors (standard draft)")
    String vocab;

    @Option(names = "--shared-head", description = "the draft shares the target's lm_head (no --vocab)")
    boolean sharedHead;

    @Option(names = "--output", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = """
                    the export directory (replaced only when complete; refused
                    when it holds foreign files)""")
    String output;

    @Option(names = "--engine", paramLabel = "E", defaultValue = "sglang",
            description = "sglang (default) or vllm: aux layer id convention of the export")
    ServingEngine engine;

    @Override
    public int run() throws Exception {
        if (sharedHead == (vocab != null)) {
            throw new UsageException("give --vocab FILE (standard draft) or --shared-head, not both");
        }
        CheckpointExport.write(checkpoint, features, ModelArg.resolve(target), vocab, output, engine,
                new Configuration());
        System.out.println("export: " + checkpoint + " -> " + output);
        return 0;
    }
}
