package dev.eaglespark.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A value outside an option's declared range is a usage error (exit 2) naming the option, the
 * value and the range, raised while the options are read: before a model is loaded or a Spark
 * session exists (the inputs named here do not exist, so any work would fail otherwise).
 */
class OptionRangeTest {
    @TempDir
    Path tmp;

    private static String[] concat(String[] base, String... more) {
        return java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(more))
                .toArray(String[]::new);
    }

    private static void refused(String expected, String... argv) {
        String err = UsageErrors.of(argv);
        assertTrue(err.startsWith("eaglespark " + argv[0] + ": " + expected + "\n"), err);
    }

    @Test
    void vocab() {
        refused("option --size: must be at least 1, got '-5'", "vocab", "--features", "f", "--output", "o",
                "--size", "-5");
    }

    @Test
    void train() {
        String[] train = {"train", "--features", "f", "--target", "t", "--vocab", "v", "--checkpoints", "c"};
        refused("option --lr: must be above 0, got '-1'", concat(train, "--lr", "-1"));
        refused("option --lr: must be above 0, got '0'", concat(train, "--lr", "0"));
        refused("option --steps: must be at least 1, got '0'", concat(train, "--steps", "0"));
        refused("option --micro-batch: must be at least 1, got '0'", concat(train, "--micro-batch", "0"));
        refused("option --ttt: must be at least 1, got '0'", concat(train, "--ttt", "0"));
        refused("option --weight-decay: must be at least 0, got '-0.1'", concat(train, "--weight-decay", "-0.1"));
        refused("option --workers: must be at least 1, got '0'", concat(train, "--workers", "0"));
        refused("option --validate-every: must be at least 1, got '-2'", concat(train, "--validation", "v",
                "--validate-every", "-2"));
    }

    @Test
    void featuresAndRegenerate() {
        String[] features = {"features", "--model", "m", "--input", "in.jsonl", "--output", "out"};
        refused("option --max-length: must be at least 1, got '0'", concat(features, "--max-length", "0"));
        refused("option --aux-layers: must be at least 0, got '2,-1'", concat(features, "--aux-layers", "2,-1"));
        refused("option --partitions: must be at least 1, got '0'", concat(features, "--partitions", "0"));
        refused("option --truncation: must be truncate or drop, got 'cut'", concat(features, "--truncation", "cut"));
        String[] regenerate = {"regenerate", "--model", "m", "--input", "in.jsonl", "--output", "out"};
        refused("option --top-p: must be in (0, 1], got '1.5'", concat(regenerate, "--top-p", "1.5"));
        refused("option --top-p: must be in (0, 1], got '0'", concat(regenerate, "--top-p", "0"));
        refused("option --max-new-tokens: must be at least 1, got '0'", concat(regenerate, "--max-new-tokens", "0"));
    }

    @Test
    void bench() {
        refused("option --new-tokens: must be at least 3, got '2'", "bench", "--stage", "decode", "--new-tokens", "2");
        refused("option --batch: must be at least 1, got '1,0'", "bench", "--batch", "1,0");
        refused("option --iters: must be at least 1, got '0'", "bench", "--stage", "train", "--iters", "0");
        refused("option --stage: must be features, train or decode, got 'vocab'", "bench", "--stage", "vocab");
    }

    @Test
    void dump() {
        refused("option --greedy: must be at least 0, got '-1'", "dump", "--model", "m", "--ids", "1", "--out", "o",
                "--greedy", "-1");
    }

    @Test
    void evaluate() {
        String[] base = {"evaluate", "--target", "t", "--draft", "d", "--prompts", "p.jsonl"};
        refused("option --k: must be at least 1, got '0'", concat(base, "--k", "0"));
        refused("option --max-new-tokens: must be at least 1, got '0'", concat(base, "--max-new-tokens", "0"));
    }

    @Test
    void prompts() {
        String[] base = {"prompts", "--model", "m", "--output", "o.jsonl"};
        refused("option --count: must be at least 1, got '0'", concat(base, "--count", "0"));
        refused("option --temperature: must be at least 0, got '-0.5'", concat(base, "--count", "4", "--temperature",
                "-0.5"));
    }

    @Test
    void aBadValueInAConfigFileNamesTheFileAndLine() throws Exception {
        Path conf = tmp.resolve("job.conf");
        Files.writeString(conf, "# vocabulary\nvocab.size = 0\n");
        refused(conf + ":2: key 'vocab.size': option --size: must be at least 1, got '0'", "vocab", "--config",
                conf.toString(), "--features", "f", "--output", "o");
        refused("option --size: needs an integer, got 'many'", "vocab", "--config", conf.toString(), "--features", "f",
                "--output", "o", "--size", "many");
    }
}
