package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eaglespark.draft.LossMaskAlignment;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.export.ServingEngine;
import org.junit.jupiter.api.Test;

/**
 * The copies of a job that the driver and the tasks make change only what they say: the driver
 * points the job at the target it ships (withTarget), a retried stage resumes (resuming). A copy
 * that dropped the validation split made 'train --validation' validate nothing.
 */
class TrainJobTest {
    private static final TrainJob JOB = new TrainJob("file:/f", "stories15M", "file:/v.safetensors", false,
            "file:/ck", 3, 600, 75, false, "file:/draft", ServingEngine.VLLM,
            TrainSettings.builder().tttLength(5).loss(LossType.REVERSE_KL).lr(1e-3).minLr(5e-5).warmupSteps(30)
                    .totalSteps(600).weightDecay(0.01).microBatch(64).accumulation(2).seed(7)
                    .precision(Precision.FP32).initialLossScale(1024).lossScaleGrowthInterval(100)
                    .lossMask(LossMaskAlignment.REFERENCE).build(),
            new TrainJob.Validation("file:/val", 75, 200, true), null).allowingTargetMismatch();

    @Test
    void withTargetChangesTheTargetOnly() {
        TrainJob moved = JOB.withTarget("/cache/models/stories15M");
        assertEquals("/cache/models/stories15M", moved.target());
        assertEquals(JOB, moved.withTarget(JOB.target()));
    }

    @Test
    void resumingChangesTheResumeFlagOnly() {
        TrainJob resumed = JOB.resuming();
        assertTrue(resumed.resume());
        assertEquals(JOB.validation(), resumed.validation());
        assertEquals(JOB.settings(), resumed.settings());
        assertEquals(JOB.export(), resumed.export());
        assertTrue(resumed.allowTargetMismatch());
    }
}
