package dev.eaglespark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.Fixtures;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dump command end to end: its file must be comparable one to one with transformers' goldens. */
class DumpCommandTest {
    @TempDir
    Path tmp;

    @Test
    void dumpsTransformersLayoutForARightPaddedBatch() {
        Path golden = Fixtures.path("tiny-qwen3/golden.safetensors");
        Path out = tmp.resolve("dump.safetensors");
        try (SafeTensorsFile g = SafeTensorsFile.open(golden)) {
            long[] ids = g.readLongs("input_ids");
            long[] mask = g.readLongs("attention_mask");
            String row0 = join(ids, 0, 40);
            String row1 = join(ids, 40, 40 + (int) Arrays.stream(mask, 40, 80).sum());
            assertEquals(0, Main.run(new String[] {"dump", "--model", Fixtures.path("tiny-qwen3").toString(),
                    "--ids", row0, "--ids", row1, "--out", out.toString()}));
            try (SafeTensorsFile d = SafeTensorsFile.open(out)) {
                assertArrayEquals(g.info("hidden_states").shape(), d.info("hidden_states").shape());
                assertArrayEquals(mask, d.readLongs("attention_mask"));
                float[] expected = g.readFloats("hidden_states");
                float[] actual = d.readFloats("hidden_states");
                for (int i = 0; i < expected.length; i++) {
                    int t = (i / 64) % 40;
                    int row = (i / (64 * 40)) % 2;
                    if (mask[row * 40 + t] == 0) {
                        expected[i] = actual[i]; // padding is not compared
                    }
                }
                // 1e-4 relative to the tensor's largest magnitude, as in the model golden tests.
                Close.assertRelative("dumped hidden_states", expected, actual, 1e-4);
            }
        }
    }

    @Test
    void textInputAndGreedyOnStories15M() {
        Path out = tmp.resolve("s.safetensors");
        assertEquals(0, Main.run(new String[] {"dump", "--model", "stories15M", "--text", "Once upon a time",
                "--greedy", "24", "--out", out.toString()}));
        try (SafeTensorsFile d = SafeTensorsFile.open(out);
             SafeTensorsFile g = SafeTensorsFile.open(Fixtures.path("stories15M/golden.safetensors"))) {
            assertArrayEquals(g.readLongs("p0.input_ids"), d.readLongs("input_ids"));
            assertArrayEquals(g.readLongs("p0.greedy"), d.readLongs("greedy"));
            Close.assertRelative("p0 logits", g.readFloats("p0.logits"), d.readFloats("logits"), 1e-4);
        }
    }

    @Test
    void wrongOptionsExitWithUsage() {
        assertEquals(2, Main.run(new String[] {"dump", "--modle", "x"}));
        assertEquals(2, Main.run(new String[] {"dump", "--model", "x", "--out", "y"}));
        assertEquals(2, Main.run(new String[] {"dump", "--model", "x", "--out", "y", "--ids", "1,a"}));
        assertEquals(2, Main.run(new String[] {"nosuchcommand"}));
        assertEquals(0, Main.run(new String[] {"dump", "--help"}));
        assertEquals(1, Main.run(new String[] {"dump", "--model", tmp.resolve("none").toString(), "--ids", "1",
                "--out", tmp.resolve("o").toString()}));
    }

    private static String join(long[] ids, int from, int to) {
        return Arrays.stream(ids, from, to).mapToObj(Long::toString).collect(Collectors.joining(","));
    }
}
