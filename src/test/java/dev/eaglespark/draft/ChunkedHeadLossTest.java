package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.eaglespark.model.Ops;
import dev.eaglespark.runtime.GradMode;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.RmsNorm;
import dev.eaglespark.vocab.DraftVocab;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chunked final norm, head and loss against the same written out over whole sequences and
 * differentiated by autograd (fp32, CPU): the reference's shifts, uniform targets past the end,
 * position masks, both KL directions, a trained and a frozen (full-vocabulary) head, and chunk
 * sizes from one token to the whole batch. Losses, accuracies and every gradient agree within
 * 1e-5 relative to their scale (fp32 summation order is all that differs). The fixture tests
 * check the same path against the reference trainer itself.
 */
class ChunkedHeadLossTest {
    private static final int B = 2;
    private static final int T = 7;
    private static final int H = 8;
    private static final int TARGET_VOCAB = 40;
    private static final int STEPS = 3;
    private static final float SCALE = 8;

    @ParameterizedTest
    @CsvSource({"FORWARD_KL, 12, 1", "FORWARD_KL, 12, 5", "FORWARD_KL, 40, 3", "FORWARD_KL, 12, 100",
                "REVERSE_KL, 12, 1", "REVERSE_KL, 12, 4", "REVERSE_KL, 40, 5", "REVERSE_KL, 40, 100"})
    void matchesAutogradOverWholeSequences(LossType loss, int draftVocab, long chunkTokens) throws Exception {
        boolean shared = draftVocab == TARGET_VOCAB;
        long[] counts = new long[TARGET_VOCAB];
        for (int v = 0; v < counts.length; v++) {
            counts[v] = (v * 7919L) % 53; // id 0 is out of a 12-token vocabulary: position masks vary
        }
        DraftVocab vocab = shared ? DraftVocab.identity(TARGET_VOCAB) : DraftVocab.fromCounts(counts, draftVocab);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            m.getEngine().setRandomSeed(7);
            NDArray hLast = m.randomNormal(new Shape(B, T, H));
            NDArray targetNorm = m.randomUniform(0.5f, 1.5f, new Shape(H));
            NDArray targetHead = m.randomNormal(0, 1, new Shape(TARGET_VOCAB, H), DataType.FLOAT32);
            // Row 1 is padded from 5 on; the last position of row 0 counts (its target is uniform).
            NDArray lossMask = m.create(new float[] {1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0}, new Shape(B, T));
            NDArray head = shared ? targetHead.duplicate() : m.randomNormal(0, 1, new Shape(draftVocab, H),
                    DataType.FLOAT32);
            head.setRequiresGradient(!shared);
            NDArray norm = m.randomUniform(0.5f, 1.5f, new Shape(H));
            norm.setRequiresGradient(true);
            List<NDArray> outputs = new ArrayList<>();
            for (int k = 0; k < STEPS; k++) {
                NDArray h = m.randomNormal(new Shape(B, T, H));
                h.setRequiresGradient(true);
                outputs.add(h);
            }
            float[] expected;
            List<float[]> expectedGrads = new ArrayList<>();
            try (GradMode gc = GradMode.recording()) {
                NDArray stats = wholeSequence(outputs, norm, head, hLast, targetNorm, targetHead, vocab, lossMask,
                        loss);
                gc.backward(stats.get(0).mul(SCALE));
                expected = stats.toFloatArray();
            }
            for (NDArray h : outputs) {
                expectedGrads.add(h.getGradient().toFloatArray());
            }
            float[] expectedNorm = norm.getGradient().toFloatArray();
            float[] expectedHead = shared ? null : head.getGradient().toFloatArray();
            outputs.forEach(h -> JniUtils.zeroGrad((PtNDArray) h));
            JniUtils.zeroGrad((PtNDArray) norm);
            if (!shared) {
                JniUtils.zeroGrad((PtNDArray) head);
            }

            try (SoftLabels soft = new SoftLabels(targetNorm, targetHead, 1e-5, vocab)) {
                ChunkedHeadLoss chunked = new ChunkedHeadLoss(soft, STEPS, 0.8, loss, 1e-5, chunkTokens);
                int before = resources(soft.manager());
                float[] actual;
                try (NDManager step = m.newSubManager(); GradMode gc = GradMode.recording()) {
                    ChunkedHeadLoss.Result r = chunked.run(outputs, norm, head, hLast, lossMask, SCALE);
                    gc.backward(r.graphEnd());
                    actual = r.total().reshape(1).concat(r.perStep().get("0:2").reshape(-1)).toFloatArray();
                    r.graphEnd().close();
                }
                assertEquals(before, resources(soft.manager()), "nothing stays in the frozen manager");
                Close.assertRelative("total, losses, accuracies", expected, actual, 1e-5);
                for (int k = 0; k < STEPS; k++) {
                    Close.assertRelative("gradient of step " + k, expectedGrads.get(k),
                            outputs.get(k).getGradient().toFloatArray(), 1e-5);
                }
                Close.assertRelative("final norm gradient", expectedNorm, norm.getGradient().toFloatArray(), 1e-5);
                if (!shared) {
                    Close.assertRelative("lm_head gradient", expectedHead, head.getGradient().toFloatArray(), 1e-5);
                }
            }
        }
    }

    /**
     * The reference's loss over whole sequences: target logits shifted left by one (zeros last),
     * target_p over the draft columns, position_mask = t2d[argmax] * loss_mask, then per step the
     * loss, the accuracy, and the shift of target_p (uniform fill), position_mask and loss_mask.
     *
     * @return [total, per-step losses, per-step accuracies] (total differentiable)
     */
    private static NDArray wholeSequence(List<NDArray> outputs, NDArray norm, NDArray head, NDArray hLast,
                                         NDArray targetNorm, NDArray targetHead, DraftVocab vocab, NDArray lossMask,
                                         LossType loss) {
        NDManager m = hLast.getManager();
        int k = vocab.size();
        long[] ids = new long[k];
        for (int i = 0; i < k; i++) {
            ids[i] = vocab.targetId(i);
        }
        float[] t2d = new float[TARGET_VOCAB];
        for (int v = 0; v < t2d.length; v++) {
            t2d[v] = vocab.t2d()[v] ? 1 : 0;
        }
        NDArray logits = shift(Ops.linear(RmsNorm.of(hLast, targetNorm, 1e-5), targetHead), 0);
        NDArray targetP = logits.get(new ai.djl.ndarray.index.NDIndex("..., {}", m.create(ids))).softmax(2);
        NDArray top = m.create(t2d).get(logits.argMax(2));
        NDArray positionMask = top.mul(lossMask);
        NDArray mask = lossMask;
        NDArray total = null;
        NDList losses = new NDList();
        NDList accs = new NDList();
        for (int s = 0; s < STEPS; s++) {
            NDArray draftLogits = Ops.linear(RmsNorm.of(outputs.get(s), norm, 1e-5), head);
            NDArray logP = draftLogits.logSoftmax(2);
            NDArray pm = positionMask.expandDims(2);
            NDArray per = loss == LossType.FORWARD_KL ? pm.mul(targetP).mul(logP).sum(new int[] {2}).neg()
                    : pm.mul(logP.exp()).mul(logP.sub(targetP.add(1e-8f).log())).sum(new int[] {2});
            NDArray l = per.mean();
            total = total == null ? l : total.add(l.mul((float) Math.pow(0.8, s)));
            losses.add(l.stopGradient().reshape(1));
            NDArray hit = draftLogits.argMax(2).eq(targetP.argMax(2)).toType(DataType.FLOAT32, false);
            accs.add(hit.mul(positionMask).sum().div(mask.sum().maximum(1e-6f)).reshape(1));
            targetP = shift(targetP, 1f / k);
            positionMask = shift(positionMask, 0);
            mask = shift(mask, 0);
        }
        return total.reshape(1).concat(NDArrays.concat(losses)).concat(NDArrays.concat(accs));
    }

    private static NDArray shift(NDArray x, float fill) {
        long[] s = x.getShape().getShape().clone();
        s[1] = 1;
        return x.get(":, 1:").concat(x.getManager().full(new Shape(s), fill, x.getDataType()), 1);
    }

    private static int resources(NDManager m) throws ReflectiveOperationException {
        Field f = BaseNDManager.class.getDeclaredField("resources");
        f.setAccessible(true);
        return ((Map<?, ?>) f.get(m)).size();
    }
}
