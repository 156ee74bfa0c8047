package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.cli.Main;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.Fixtures;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One training step against the reference trainer, for both variants and both losses:
 * per-step loss and accuracy within 1e-4 (absolute), the total within 1e-4, every gradient
 * within 1e-3 relative to its largest magnitude, with the steps' activations kept and with the
 * steps recomputed one at a time in the backward. The head and loss run in chunks of
 * {@link #CHUNK_TOKENS} tokens: 5 positions of the batch's 2 rows, 6 chunks over the 24 positions
 * and the 6 past the end that later TTT steps reach.
 */
class TrainTimeTestFixtureTest {
    static final long CHUNK_TOKENS = 10;

    @TempDir
    Path tmp;

    /** Each fixture, with every step's activations kept and with the steps recomputed in the backward. */
    static Stream<Arguments> fixtures() {
        return Stream.of("eagle3_standard_forward_kl", "eagle3_standard_reverse_kl", "eagle3_shared_head_forward_kl",
                "eagle3_shared_head_reverse_kl").flatMap(n -> Stream.of(Arguments.of(n, false), Arguments.of(n, true)));
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void matchesTheReferenceTrainer(String name, boolean recompute) throws Exception {
        JsonNode meta = new ObjectMapper().readTree(Fixtures.path(name + ".json").toFile());
        try (SafeTensorsFile f = SafeTensorsFile.open(Fixtures.path(name + ".safetensors"))) {
            ReferenceStep.Result r = ReferenceStep.run(f, meta, Precision.FP32, ai.djl.Device.cpu(),
                    LossMaskAlignment.REFERENCE, CHUNK_TOKENS, recompute);
            assertClose("ploss", f.readFloats("ploss"), r.ploss(), 1e-4);
            assertClose("acc", f.readFloats("acc"), r.acc(), 1e-4);
            assertEquals(f.readFloats("total_loss")[0], r.total(), 1e-4, "total");
            boolean shared = meta.get("variant").asText().equals("shared_head");
            assertEquals(shared, !r.grads().containsKey("lm_head.weight"), "the shared head is frozen");
            assertFalse(r.grads().containsKey("embed_tokens.weight"));
            for (String n : r.grads().keySet()) {
                Close.assertRelative("grad." + n, f.readFloats("grad." + n), r.grads().get(n), 1e-3);
            }
            assertEquals(f.tensors().keySet().stream().filter(k -> k.startsWith("grad.")).count(), r.grads().size());
        }
    }

    @Test
    void trainStepCommandWritesTheReferenceNames() throws Exception {
        Path out = tmp.resolve("step.safetensors");
        assertEquals(0, Main.run(new String[] {"train-step", "--input",
                Fixtures.path("eagle3_standard_reverse_kl.safetensors").toString(), "--output", out.toString()}));
        try (SafeTensorsFile ours = SafeTensorsFile.open(out);
             SafeTensorsFile ref = SafeTensorsFile.open(Fixtures.path("eagle3_standard_reverse_kl.safetensors"))) {
            for (String k : ref.tensors().keySet()) {
                if (k.startsWith("grad.") || k.equals("ploss") || k.equals("acc") || k.equals("total_loss")) {
                    assertTrue(ours.contains(k), k);
                    assertTrue(Arrays.equals(ref.info(k).shape(), ours.info(k).shape()), k);
                }
            }
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual, double tol) {
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > tol) {
                throw new AssertionError(what + ": expected " + Arrays.toString(expected) + ", got "
                        + Arrays.toString(actual));
            }
        }
    }
}
