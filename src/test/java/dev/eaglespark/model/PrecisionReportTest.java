package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.testutil.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

class PrecisionReportTest {
    private static final List<long[]> IDS = List.of(new long[] {1, 17, 300, 42, 999, 5, 6, 7}, new long[] {1, 2});

    @Test
    void identicalRunsReportNoError() {
        try (TargetModel a = TargetModel.load(Fixtures.path("tiny-qwen2"), Device.cpu(), DataType.FLOAT32);
             TargetModel b = TargetModel.load(Fixtures.path("tiny-qwen2"), Device.cpu(), DataType.FLOAT32)) {
            PrecisionReport r = PrecisionReport.compare(a, b, IDS);
            assertEquals(0.0, r.worstHiddenError());
            assertEquals(0.0, r.logits().relError());
            assertEquals(1.0, r.argmaxAgreement());
            assertEquals(a.config().numLayers() + 2, r.rows().size());
        }
    }

    @Test
    void fp16IsCloseButNotEqual() {
        try (TargetModel a = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu(), DataType.FLOAT32);
             TargetModel b = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu(), DataType.FLOAT16)) {
            PrecisionReport r = PrecisionReport.compare(a, b, IDS);
            double worst = r.worstHiddenError();
            assertTrue(worst > 0 && worst < 1e-2, "fp16 hidden-state error " + worst + "\n" + r.format());
            assertTrue(r.logits().relError() < 1e-2, r.format());
        }
    }
}
