package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Fixtures;
import java.io.IOException;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** KV-cached generation against transformers' greedy continuations, batched against one by one. */
class GeneratorTest {
    private static TargetModel stories;
    private static SafeTensorsFile golden;
    private static final String[] PROMPTS = {"p0", "p1", "p2"};

    @BeforeAll
    static void load() throws IOException {
        stories = TargetModel.load(Stories15M.ensure(), Device.cpu());
        golden = SafeTensorsFile.open(Fixtures.path("stories15M/golden.safetensors"));
    }

    @AfterAll
    static void close() {
        stories.close();
        golden.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen2", "tiny-qwen3"})
    void cachedGreedyMatchesTransformers(String model) {
        try (TargetModel m = TargetModel.load(Fixtures.path(model), Device.cpu());
             SafeTensorsFile g = SafeTensorsFile.open(Fixtures.path(model + "/golden.safetensors"))) {
            long[] expected = g.readLongs("greedy");
            List<Generator.Result> r = new Generator(m, Set.of()).generate(
                    List.of(Generator.Request.greedy(g.readLongs("greedy_prompt"), expected.length)));
            assertArrayEquals(expected, r.get(0).tokens());
        }
    }

    @Test
    void batchedGreedyEqualsOneByOneAndTransformers() {
        Generator gen = new Generator(stories, Set.of());
        List<Generator.Request> batch = new ArrayList<>();
        for (String p : PROMPTS) {
            batch.add(Generator.Request.greedy(golden.readLongs(p + ".input_ids"), 24));
        }
        List<Generator.Result> together = gen.generate(batch);
        for (int i = 0; i < PROMPTS.length; i++) {
            long[] alone = gen.generate(List.of(batch.get(i))).get(0).tokens();
            assertArrayEquals(golden.readLongs(PROMPTS[i] + ".greedy"), together.get(i).tokens(), PROMPTS[i]);
            assertArrayEquals(alone, together.get(i).tokens(), PROMPTS[i] + " alone vs batched");
            assertFalse(together.get(i).stopped());
        }
    }

    @Test
    void samplingIsPerRequestSeededAndIndependentOfTheBatch() {
        Generator gen = new Generator(stories, Set.of());
        Sampling warm = new Sampling(1.0, 0.9);
        List<Generator.Request> batch = List.of(
                new Generator.Request(golden.readLongs("p0.input_ids"), 20, warm, 7),
                new Generator.Request(golden.readLongs("p1.input_ids"), 20, warm, 8),
                new Generator.Request(golden.readLongs("p0.input_ids"), 20, warm, 9));
        List<Generator.Result> together = gen.generate(batch);
        for (int i = 0; i < batch.size(); i++) {
            assertArrayEquals(gen.generate(List.of(batch.get(i))).get(0).tokens(), together.get(i).tokens());
        }
        assertNotEquals(List.of(together.get(0).tokens()), List.of(together.get(2).tokens()), "seeds 7 and 9");
        // A nucleus of one token is greedy whatever the temperature.
        long[] narrow = gen.generate(List.of(new Generator.Request(golden.readLongs("p2.input_ids"), 24,
                new Sampling(2.0, 1e-9), 1))).get(0).tokens();
        assertArrayEquals(golden.readLongs("p2.greedy"), narrow);
    }

    @Test
    void stopsAtAStopTokenAndRespectsEachRowsLimit() {
        long period = 29889; // "." ends the first sentence of p0's continuation
        Generator gen = new Generator(stories, Set.of(period));
        List<Generator.Result> r = gen.generate(List.of(
                Generator.Request.greedy(golden.readLongs("p0.input_ids"), 24),
                Generator.Request.greedy(golden.readLongs("p1.input_ids"), 3)));
        long[] p0 = golden.readLongs("p0.greedy");
        int firstPeriod = 0;
        while (p0[firstPeriod] != period) {
            firstPeriod++;
        }
        assertArrayEquals(java.util.Arrays.copyOf(p0, firstPeriod + 1), r.get(0).tokens());
        assertTrue(r.get(0).stopped());
        assertArrayEquals(java.util.Arrays.copyOf(golden.readLongs("p1.greedy"), 3), r.get(1).tokens());
        assertFalse(r.get(1).stopped());
    }

    @Test
    void leavesNothingBehindInTheWeightsManager() throws ReflectiveOperationException {
        int before = resources(stories);
        new Generator(stories, Set.of()).generate(List.of(Generator.Request.greedy(golden.readLongs("p1.input_ids"), 8)));
        stories.forward(stories.weightsManager(), List.of(golden.readLongs("p0.input_ids")),
                ForwardRequest.lastHiddenOnly()).lastHidden().close();
        assertEquals(before, resources(stories));
    }

    private static int resources(TargetModel m) throws ReflectiveOperationException {
        Field f = BaseNDManager.class.getDeclaredField("resources");
        f.setAccessible(true);
        return ((Map<?, ?>) f.get(m.weightsManager())).size();
    }
}
