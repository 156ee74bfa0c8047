package dev.eaglespark.cli;

import java.util.Map;

/** {@code eaglespark vocab}: the draft vocabulary from stage-1 features (Spark). */
public final class VocabCommand implements Command {
    private static final Map<String, Boolean> OPTIONS = Map.of("features", true, "output", true, "size", true);

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("features", PathKind.URI, "output", PathKind.URI);
    }

    @Override
    public String name() {
        return "vocab";
    }

    @Override
    public String summary() {
        return "the draft vocabulary: top-K loss-masked target tokens (Spark)";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark vocab --features DIR --output DIR [--size K]

                Counts target tokens under the loss mask over all feature rows and keeps the K most
                frequent (ties to the lower id), sorted by id. Writes DIR/vocab.safetensors with t2d
                (bool per target id), d2t (int64 offsets: draft id i is target id i + d2t[i]) and
                token_counts, and DIR/vocab.json with the coverage (share of masked tokens inside the
                draft vocabulary).

                options:
                  --features DIR   the output of 'eaglespark features'
                  --output DIR     where vocab.safetensors and vocab.json go (replaced once both are
                                   written; refused when it holds foreign files)
                  --size K         draft vocabulary size (default 32000)
                """;
    }

    @Override
    public int run(Args args) throws Exception {
        return SparkStages.vocab(args.required("features"), args.required("output"), args.getInt("size", 32000));
    }
}
