package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.draft.ReferenceBatch;
import dev.eaglespark.draft.SoftLabels;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Fixtures;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fp16 training with dynamic loss scaling on the reference fixture's draft (hidden 64, the same
 * batch every update): fp16 matrix products on the CPU are slow, too slow for stories15M's
 * 32000-wide head in a test, so the fixture-sized model stands in.
 */
class LossScalingTest {
    private static final String FIXTURE = "eagle3_standard_forward_kl";

    @TempDir
    Path tmp;

    @Test
    void scalerHalvesOnOverflowAndDoublesAfterTheInterval() {
        LossScaler s = LossScaler.dynamic(1024, 3);
        s.update(false);
        assertEquals(512, s.scale());
        s.update(true);
        s.update(true);
        assertEquals(512, s.scale());
        s.update(true);
        assertEquals(1024, s.scale(), "doubled after 3 finite updates in a row");
        assertEquals(0, s.goodUpdates());
        s.update(true);
        s.update(false);
        assertEquals(512, s.scale());
        assertEquals(0, s.goodUpdates(), "an overflow restarts the count");
        ObjectNode state = new ObjectMapper().createObjectNode();
        s.update(true);
        s.save(state);
        LossScaler restored = LossScaler.dynamic(65536, 3);
        restored.restore(state);
        assertEquals(512, restored.scale());
        assertEquals(1, restored.goodUpdates());
        LossScaler none = LossScaler.none();
        none.update(false);
        assertEquals(1, none.scale(), "fp32 never scales");
    }

    @Test
    void anOverflowSkipsTheUpdateHalvesTheScaleAndTrainingGoesOn() throws Exception {
        try (Run run = new Run(settings(Math.pow(2, 40), 2000))) {
            Map<String, float[]> before = run.weights();
            StepMetrics first = run.update();
            assertEquals(Math.pow(2, 40), first.lossScale());
            assertFalse(Double.isFinite(first.gradNorm()), "fp16 gradients overflow at 2^40");
            assertEquals(Math.pow(2, 39), run.trainer.lossScaler().scale());
            assertEquals(1, run.trainer.skippedUpdates());
            assertEquals(1, run.trainer.optimizer().steps(), "the schedule moves on");
            run.weights().forEach((n, w) -> assertArrayEquals(before.get(n), w, n + " unchanged"));
            StepMetrics m = first;
            for (int i = 0; i < 40 && !Double.isFinite(m.gradNorm()); i++) {
                m = run.update();
            }
            assertTrue(Double.isFinite(m.gradNorm()) && Double.isFinite(m.loss()), "an update went through");
            assertEquals(Math.pow(2, 40 - run.trainer.skippedUpdates()), m.lossScale(), "halved once per overflow");
            System.out.printf("loss scale from 2^40: %d updates skipped, first applied update at scale 2^%d%n",
                    run.trainer.skippedUpdates(), 40 - run.trainer.skippedUpdates());
            float[] fc = run.weights().get("fc.weight");
            assertFalse(java.util.Arrays.equals(before.get("fc.weight"), fc), "the weights moved");
            double loss = m.loss();
            for (int i = 0; i < 5; i++) {
                m = run.update();
            }
            assertTrue(m.loss() < loss, "training goes on: loss " + loss + " -> " + m.loss());
        }
    }

    @Test
    void theScaleDoublesAfterTheGrowthInterval() throws Exception {
        try (Run run = new Run(settings(1024, 3))) {
            for (int i = 0; i < 3; i++) {
                assertEquals(1024, run.update().lossScale());
            }
            assertEquals(2048, run.update().lossScale());
            assertEquals(0, run.trainer.skippedUpdates());
        }
    }

    @Test
    void aResumedFp16RunEqualsAnUninterruptedOne() throws Exception {
        TrainSettings s = settings(Math.pow(2, 20), 2); // overflows first, then grows: the scale moves in both halves
        Checkpoints ckpts = new Checkpoints(tmp.resolve("ck").toUri().toString(), new Configuration());
        Map<String, float[]> straight;
        double scale;
        Path at3;
        try (Run run = new Run(s)) {
            for (int i = 0; i < 3; i++) {
                run.update();
            }
            ObjectNode extra = new ObjectMapper().createObjectNode();
            run.trainer.saveState(extra);
            at3 = Path.of(ckpts.save(new Checkpoints.State(3, List.of(new Checkpoints.DataPosition(0, 3)), extra),
                    run.trainable(), run.trainer.optimizer()).toUri());
            for (int i = 0; i < 3; i++) {
                run.update();
            }
            straight = run.weights();
            scale = run.trainer.lossScaler().scale();
        }
        try (Run resumed = new Run(s)) {
            Checkpoints.State st = ckpts.load(new org.apache.hadoop.fs.Path(at3.toUri()), resumed.trainable(),
                    resumed.trainer.optimizer(), resumed.scratch);
            resumed.trainer.restoreState(st.extra());
            for (int i = 0; i < 3; i++) {
                resumed.update();
            }
            assertEquals(scale, resumed.trainer.lossScaler().scale());
            resumed.weights().forEach((n, w) -> assertArrayEquals(straight.get(n), w, n + " bit for bit"));
        }
    }

    private static TrainSettings settings(double scale, int interval) {
        return TrainSettings.builder().tttLength(7).lr(1e-2).minLr(1e-3).warmupSteps(0).totalSteps(100)
                .precision(Precision.FP16).initialLossScale(scale).lossScaleGrowthInterval(interval).build();
    }

    /** A trainer over the fixture's weights, updated on the fixture's batch. */
    private static final class Run implements AutoCloseable {
        final NDManager scratch = NDManager.newBaseManager(Device.cpu());
        final SafeTensorsFile file = SafeTensorsFile.open(Fixtures.path(FIXTURE + ".safetensors"));
        final ReferenceBatch ref;
        final DraftParams params = new DraftParams(Device.cpu());
        final SoftLabels labels;
        final DraftTrainer trainer;

        Run(TrainSettings s) throws Exception {
            ref = ReferenceBatch.of(file, new ObjectMapper().readTree(Fixtures.path(FIXTURE + ".json").toFile()));
            ref.putParams(params, scratch);
            labels = ref.softLabels(scratch, DataType.FLOAT16);
            trainer = new DraftTrainer(params, ref.config(), labels, s, DraftTrainer.GradientReducer.SINGLE);
        }

        StepMetrics update() {
            return trainer.update(List.of(scope -> ref.inputs(scope, DataType.FLOAT16)));
        }

        Map<String, ai.djl.ndarray.NDArray> trainable() {
            Map<String, ai.djl.ndarray.NDArray> out = new LinkedHashMap<>();
            params.trainable().forEach(n -> out.put(n, params.get(n)));
            return out;
        }

        Map<String, float[]> weights() {
            Map<String, float[]> out = new LinkedHashMap<>();
            trainable().forEach((n, a) -> out.put(n, a.toFloatArray()));
            return out;
        }

        @Override
        public void close() {
            trainer.close();
            labels.close();
            params.close();
            file.close();
            scratch.close();
        }
    }
}
