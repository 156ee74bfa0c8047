package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One fp16 training step (fp16 weights and features, scaled loss, fp32 softmax and loss) against
 * the reference trainer's fp32 step. fp16 keeps 11 significant bits (relative rounding 4.9e-4
 * per operation) and every activation of the 7 TTT steps is rounded, so agreement to the fp32
 * tolerances (1e-4) is not to be expected; what must hold is that the fp16 step computes the
 * same thing: per-step losses close in relative terms and each gradient pointing the same way
 * (cosine similarity), which is what the optimizer consumes after unscaling. Measured on the CPU:
 * losses within 1.8e-4 relative, cosines above 0.99999; the limits (2e-3, 0.999) leave room for
 * other kernels' accumulation orders and still catch a graph cut or a missed unscale. The head
 * and loss run in the fixture test's small chunks (several per sequence), with the steps'
 * activations kept and with the steps recomputed in the backward.
 */
class Fp16StepFixtureTest {
    private static final double LOSS_REL = 2e-3;
    private static final double MIN_COSINE = 0.999;

    @ParameterizedTest
    @MethodSource("dev.eaglespark.draft.TrainTimeTestFixtureTest#fixtures")
    void fp16StepAgreesWithTheFp32Reference(String name, boolean recompute) throws Exception {
        JsonNode meta = new ObjectMapper().readTree(Fixtures.path(name + ".json").toFile());
        try (SafeTensorsFile f = SafeTensorsFile.open(Fixtures.path(name + ".safetensors"))) {
            ReferenceStep.Result r = ReferenceStep.run(f, meta, Precision.FP16, ai.djl.Device.cpu(),
                    LossMaskAlignment.REFERENCE, TrainTimeTestFixtureTest.CHUNK_TOKENS, recompute);
            float[] ploss = f.readFloats("ploss");
            double worstLoss = 0;
            for (int k = 0; k < ploss.length; k++) {
                double rel = Math.abs(r.ploss()[k] - ploss[k]) / Math.abs(ploss[k]);
                worstLoss = Math.max(worstLoss, rel);
                assertTrue(rel <= LOSS_REL, name + " ploss[" + k + "]: " + r.ploss()[k] + " vs " + ploss[k]);
            }
            assertEquals(f.readFloats("total_loss")[0], r.total(), LOSS_REL * f.readFloats("total_loss")[0]);
            double worstCos = 1;
            for (String n : r.grads().keySet()) {
                double cos = cosine(f.readFloats("grad." + n), r.grads().get(n));
                worstCos = Math.min(worstCos, cos);
                assertTrue(cos > MIN_COSINE, name + " grad." + n + ": cosine " + cos);
            }
            System.out.printf("fp16 step on %s%s: worst per-step loss error %.2e relative, worst gradient cosine "
                    + "%.6f%n", name, recompute ? " (steps recomputed)" : "", worstLoss, worstCos);
        }
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
