package dev.eaglespark.cli;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code eaglespark vocab}: the draft vocabulary from stage-1 features (Spark). */
@CommandLine.Command(name = "vocab", header = "the draft vocabulary: top-K loss-masked target tokens (Spark)",
        customSynopsis = "usage: eaglespark vocab --features DIR --output DIR [--size K]",
        description = """
                Counts target tokens under the loss mask over all feature rows and keeps the K most
                frequent (ties to the lower id), sorted by id. Writes DIR/vocab.safetensors with t2d
                (bool per target id), d2t (int64 offsets: draft id i is target id i + d2t[i]) and
                token_counts, and DIR/vocab.json with the coverage (share of masked tokens inside the
                draft vocabulary).""")
public final class VocabCommand implements Command {
    @Option(names = "--features", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = "the output of 'eaglespark features'")
    String features;

    @Option(names = "--output", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = """
                    where vocab.safetensors and vocab.json go (replaced once both are
                    written; refused when it holds foreign files)""")
    String output;

    @Option(names = "--size", paramLabel = "K", defaultValue = "32000",
            description = "draft vocabulary size (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int size;

    @Override
    public int run() throws Exception {
        return SparkStages.vocab(features, output, size);
    }
}
