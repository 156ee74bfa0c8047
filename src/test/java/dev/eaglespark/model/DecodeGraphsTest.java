package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.eaglespark.testutil.Fixtures;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The CPU side of decode steps as CUDA graphs (the graphs themselves: GpuDecodeGraphCheck): the
 * row buckets graphs are captured for, and that the CPU keeps to the interpreter.
 */
class DecodeGraphsTest {
    @Test
    void rowBucketsStayWithinTheSlots() {
        assertEquals(List.of(1, 5, 8, 16, 16, 128, 160, 256, 200),
                List.of(DecodeGraphs.rows(1, 256), DecodeGraphs.rows(5, 256), DecodeGraphs.rows(8, 256),
                        DecodeGraphs.rows(9, 256), DecodeGraphs.rows(16, 256), DecodeGraphs.rows(121, 256),
                        DecodeGraphs.rows(129, 256), DecodeGraphs.rows(250, 256), DecodeGraphs.rows(199, 200)));
    }

    @Test
    void theCpuDecodesThroughTheInterpreter() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            assertFalse(DecodeGraphs.usable(model));
            long[] prompt = {1, 5, 9};
            ContinuousBatcher.Stats stats = new ContinuousBatcher(model, Set.of(), 2, 16,
                    ContinuousBatcher.Admission.CONTINUOUS).run(new ContinuousBatcher.Work<Integer>() {
                        boolean given;

                        @Override
                        public ContinuousBatcher.Job<Integer> next() {
                            if (given) {
                                return null;
                            }
                            given = true;
                            return new ContinuousBatcher.Job<>(0, Generator.Request.greedy(prompt, 4));
                        }

                        @Override
                        public void done(Integer tag, Generator.Result result) {
                            assertEquals(4, result.tokens().length);
                        }
                    });
            assertEquals(0, stats.graphs());
            assertEquals(0.0, stats.captureSeconds());
            assertEquals(3, stats.steps(), "the first token comes from the prefill");
            assertTrue(stats.prefillSeconds() > 0 && stats.prefillSeconds() < stats.seconds(), stats.format());
        }
    }
}
