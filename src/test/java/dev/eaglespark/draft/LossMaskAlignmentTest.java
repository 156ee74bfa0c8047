package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.model.Ops;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.runtime.GradMode;
import dev.eaglespark.testutil.RmsNorm;
import dev.eaglespark.testutil.Stories15MFeatures;
import dev.eaglespark.train.BatchBuilder;
import dev.eaglespark.vocab.DraftVocab;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The loss mask decides which positions a training step learns from. On a real stories15M
 * conversation (stage-1 features, cut at 64 tokens inside the first answer) with the shared head
 * (every target token in the draft vocabulary, so the position mask is the aligned loss mask
 * itself): the shifted mask counts position t when token t+1 is an assistant token, so the last
 * prompt position (the one that proposes the first draft token) counts and the last position
 * (a zero-padded target) does not; the reference mask counts assistant positions themselves, the
 * reverse at both ends. Then the step's losses and accuracies, recomputed in Java from the
 * training forward's own logits ({@link TrainTimeTest#stepLogits}) and the target's distribution
 * over exactly those positions (step k: positions whose token t+1+k, resp. t+k, is an assistant
 * token), equal what the chunked head and loss report: relative 1e-5 on the losses (fp32 sums in
 * another order), the accuracies and their denominators exactly.
 */
class LossMaskAlignmentTest {
    private static final int TTT = 3;
    private static TargetModel target;
    private static FeatureRecord row;

    @BeforeAll
    static void features() throws Exception {
        target = TargetModel.load(Stories15M.ensure(), Device.cpu());
        row = Stories15MFeatures.of(target, "sharegpt_sample.jsonl", 1, 64).get(0);
    }

    @AfterAll
    static void close() {
        target.close();
    }

    @ParameterizedTest
    @EnumSource(LossMaskAlignment.class)
    void trainsExactlyTheAlignedPositions(LossMaskAlignment alignment) {
        byte[] mask = row.lossMask();
        int t = row.length();
        int firstAssistant = 0;
        while (mask[firstAssistant] == 0) {
            firstAssistant++;
        }
        assertEquals(1, mask[t - 1], "the sample is cut inside an answer: its last token is an assistant token");
        int v = target.config().vocabSize();
        DraftConfig cfg = DraftConfig.forTarget(target.config(), v, 3);
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             DraftParams params = DraftParams.initialise(cfg, Device.cpu(), 5, target.embedWeight(),
                     target.lmHeadWeight(), false);
             SoftLabels soft = new SoftLabels(target.finalNormWeight(), target.lmHeadWeight(),
                     target.config().rmsNormEps(), DraftVocab.identity(v))) {
            TrainTimeTest.Inputs in = new BatchBuilder(target.config().hiddenSize(), 3, DataType.FLOAT32)
                    .build(m, List.of(row));
            int shift = alignment == LossMaskAlignment.SHIFTED ? 1 : 0;
            boolean shifted = alignment == LossMaskAlignment.SHIFTED;
            assertEquals(shifted, counted(firstAssistant - 1, shift, 0), "the last prompt position");
            assertEquals(!shifted, counted(t - 1, shift, 0), "the last position");

            TrainTimeTest.Batch batch = alignment.align(in.batch());
            TrainTimeTest ttt = new TrainTimeTest(new Eagle3Draft(cfg, params), TTT, 0.8, LossType.FORWARD_KL, soft);
            TrainTimeTest.Output out;
            try (GradMode off = GradMode.off()) {
                out = ttt.run(batch, in.lastHidden(), 1);
            }
            float[] logits = ttt.stepLogits(batch).toFloatArray(); // [TTT, 1, T, V]
            float[] targetP = targetP(in.lastHidden(), v); // step 0's [1, T, V]; step k reads row p + k
            for (int k = 0; k < TTT; k++) {
                double loss = 0;
                int correct = 0;
                int denominator = 0;
                for (int p = 0; p + k < t; p++) {
                    if (!counted(p, shift, k)) {
                        continue;
                    }
                    denominator++;
                    int at = (k * t + p) * v;
                    int target = (p + k) * v;
                    double logZ = logSumExp(logits, at, v);
                    for (int i = 0; i < v; i++) {
                        loss -= targetP[target + i] * (logits[at + i] - logZ);
                    }
                    correct += argmax(logits, at, v) == argmax(targetP, target, v) ? 1 : 0;
                }
                loss /= t; // the mean over all B x T positions, counted or not
                assertEquals(loss, out.stepLoss()[k], 1e-5 * loss, "loss of step " + k);
                assertEquals(denominator, out.stepCounted()[k], "accuracy denominator of step " + k);
                assertEquals(correct, out.stepCorrect()[k], "correct predictions of step " + k);
                assertTrue(denominator > 0);
            }
        }
    }

    /**
     * The target's distribution for each position's next token [T x V]: softmax of
     * lm_head(norm(last hidden state)) at position p + 1, uniform for the last position (the
     * reference's zero logits past the end).
     */
    private static float[] targetP(NDArray lastHidden, int v) {
        float[] logits = Ops.linear(RmsNorm.of(lastHidden, target.finalNormWeight(), target.config().rmsNormEps()),
                target.lmHeadWeight()).toFloatArray();
        int t = row.length();
        float[] p = new float[t * v];
        java.util.Arrays.fill(p, (t - 1) * v, t * v, 1f / v);
        for (int i = 0; i + 1 < t; i++) {
            int from = (i + 1) * v;
            double logZ = logSumExp(logits, from, v);
            for (int j = 0; j < v; j++) {
                p[i * v + j] = (float) Math.exp(logits[from + j] - logZ);
            }
        }
        return p;
    }

    /** log sum_i exp(x[at + i]) over n entries, in double. */
    private static double logSumExp(float[] x, int at, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[at + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(x[at + i] - max);
        }
        return max + Math.log(sum);
    }

    /** Whether step k counts position p: its mask entry, moved left by shift + k. */
    private static boolean counted(int p, int shift, int k) {
        int source = p + shift + k;
        return source < row.length() && row.lossMask()[source] == 1;
    }

    private static int argmax(float[] x, int at, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[at + i] > x[at + best]) {
                best = i;
            }
        }
        return best;
    }
}
