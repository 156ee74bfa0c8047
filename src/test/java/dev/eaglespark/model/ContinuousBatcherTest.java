package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import dev.eaglespark.testutil.Fixtures;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How {@link ContinuousBatcher} groups admitted prompts into prefill calls. */
class ContinuousBatcherTest {
    /**
     * 64 prompts admitted at once, 250 and 10 tokens in turn: in admission order each call of at
     * most 8,192 positions would pad half its rows from 10 to 250 tokens (2 calls, 16,000
     * positions); by length, the short prompts share one call and the long ones another, with no
     * padding at all.
     */
    @Test
    void admittedPromptsArePrefilledByLength() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            int rows = 64;
            ContinuousBatcher.Stats stats = new ContinuousBatcher(model, Set.of(), rows, 251,
                    ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                        int given;

                        @Override
                        public ContinuousBatcher.Job<Integer> next() {
                            if (given == rows) {
                                return null;
                            }
                            long[] prompt = new long[given % 2 == 0 ? 250 : 10];
                            Arrays.fill(prompt, 7 + given);
                            return new ContinuousBatcher.Job<>(given++, Generator.Request.greedy(prompt, 1));
                        }

                        @Override
                        public void done(Integer tag, Generator.Result result) {
                            assertEquals(1, result.tokens().length, "the one token comes from the prefill");
                        }
                    });
            assertEquals(32 * 250 + 32 * 10, stats.prefilled());
            assertEquals(stats.prefilled(), stats.prefillPositions(), "no padding: " + stats.format());
            assertEquals(2, stats.prefills(), stats.format());
        }
    }
}
