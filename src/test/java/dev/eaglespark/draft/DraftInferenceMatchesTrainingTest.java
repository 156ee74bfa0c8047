package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.model.Stories15M;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.Stories15MFeatures;
import dev.eaglespark.train.BatchBuilder;
import dev.eaglespark.train.DraftTrainer;
import dev.eaglespark.train.TrainSettings;
import dev.eaglespark.vocab.DraftVocab;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Inference runs the draft training trained: teacher-forced over a real stories15M conversation
 * (stage-1 features of the stories15M target), the logits of the proposer's step 0 and of every
 * step of its chain equal the train-time-test script's logits of that step at that position, for
 * the same weights (a draft trained for a few updates on the conversation, so that attention is
 * far from uniform and a wrong key or rotary position shows). fp32 on the CPU; the limit is 1e-5
 * of the step's largest logit magnitude (training's attention runs in the flash kernel,
 * inference's materialises the scores: the two differ by rounding only).
 */
class DraftInferenceMatchesTrainingTest {
    private static final int TTT = 7;
    private static final double LIMIT = 1e-5;
    private static TargetModel target;
    private static FeatureRecord row;

    @BeforeAll
    static void features() throws Exception {
        target = TargetModel.load(Stories15M.ensure(), Device.cpu());
        row = Stories15MFeatures.of(target, "sharegpt_sample.jsonl", 1, 128).get(0);
    }

    @AfterAll
    static void close() {
        target.close();
    }

    @Test
    void stepZeroAndEveryChainStepEqualTraining() {
        long[] counts = new long[target.config().vocabSize()];
        for (int id : row.inputIds()) {
            counts[id]++;
        }
        DraftVocab vocab = DraftVocab.fromCounts(counts, 2000);
        DraftConfig cfg = DraftConfig.forTarget(target.config(), vocab.size(), 3);
        int t = row.length();
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             DraftParams params = DraftParams.initialise(cfg, Device.cpu(), 17, target.embedWeight(),
                     DraftParams.vocabRows(target.lmHeadWeight(), vocab, m), true);
             SoftLabels labels = new SoftLabels(target.finalNormWeight(), target.lmHeadWeight(),
                     target.config().rmsNormEps(), vocab)) {
            BatchBuilder batches = new BatchBuilder(target.config().hiddenSize(), 3, DataType.FLOAT32);
            trainBriefly(params, cfg, labels, batches);
            Eagle3Draft draft = new Eagle3Draft(cfg, params);
            var in = batches.build(m, List.of(row));
            float[] training = new TrainTimeTest(draft, TTT, 0.8, LossType.FORWARD_KL)
                    .stepLogits(in.batch(), labels.labels(in.lastHidden(), in.batch().lossMask())).toFloatArray();
            Logits expected = new Logits(training, t, vocab.size());
            NDArray aux = in.batch().aux();

            // One verified position at a time: every position's step 0 and chain.
            double worst = 0;
            try (DraftInference inference = new DraftInference(draft, m)) {
                for (int p = 0; p < t; p++) {
                    worst = Math.max(worst, expected.compare(0, p, inference.observe(new long[] {token(p + 1)},
                            aux.get(":, {}:{}", p, p + 1))));
                    worst = Math.max(worst, compareChain(inference, expected, p));
                }
            }
            // Several positions per call, as after a verification round (the first: a prompt).
            int[] chunks = {37, 1, 4, 2, 7, 3, 5};
            try (DraftInference inference = new DraftInference(draft, m)) {
                for (int start = 0, c = 0; start < t; c++) {
                    int end = Math.min(t, start + chunks[c % chunks.length]);
                    long[] tokens = new long[end - start];
                    for (int i = 0; i < tokens.length; i++) {
                        tokens[i] = token(start + i + 1);
                    }
                    int last = end - 1;
                    worst = Math.max(worst, expected.compare(0, last,
                            inference.observe(tokens, aux.get(":, {}:{}", start, end))));
                    worst = Math.max(worst, compareChain(inference, expected, last));
                    start = end;
                }
            }
            System.out.printf("draft inference vs training on %d positions x %d steps: largest difference %.2e of "
                    + "the step's largest logit%n", t, TTT, worst);
        }
    }

    /** The teacher-forced token after position p (training's shifted ids: 0 past the end). */
    private static long token(int position) {
        return position < row.length() ? row.inputIds()[position] : 0;
    }

    /** Steps 1..TTT-1 from position p, fed the teacher-forced tokens training feeds them. */
    private static double compareChain(DraftInference inference, Logits expected, int p) {
        double worst = 0;
        try (DraftInference.Chain chain = inference.chain()) {
            for (int j = 1; j < TTT; j++) {
                worst = Math.max(worst, expected.compare(j, p, chain.next(token(p + 1 + j))));
            }
        }
        return worst;
    }

    private static void trainBriefly(DraftParams params, DraftConfig cfg, SoftLabels labels, BatchBuilder batches) {
        TrainSettings s = new TrainSettings(TTT, 0.8, LossType.FORWARD_KL, 5e-3, 5e-3, 0, 8, 0.0, 1.0, 1, 1, 0)
                .forRun(3, Precision.FP32);
        try (DraftTrainer trainer = new DraftTrainer(params, cfg, labels, batches, s,
                DraftTrainer.GradientReducer.SINGLE)) {
            for (int i = 0; i < 3; i++) {
                trainer.step(List.of(List.of(row)));
            }
        }
    }

    /** Training's logits [steps, 1, T, V] and the largest magnitude of each step's. */
    private record Logits(float[] values, int t, int vocab, double[] scale) {
        Logits(float[] values, int t, int vocab) {
            this(values, t, vocab, scales(values, t * vocab));
        }

        private static double[] scales(float[] values, int perStep) {
            double[] s = new double[values.length / perStep];
            for (int i = 0; i < values.length; i++) {
                s[i / perStep] = Math.max(s[i / perStep], Math.abs(values[i]));
            }
            return s;
        }

        /** The largest difference of {@code actual} from step j's logits at position p, relative to the step's scale. */
        double compare(int j, int p, NDArray actual) {
            float[] a = actual.toFloatArray();
            int at = (j * t + p) * vocab;
            double worst = 0;
            for (int v = 0; v < vocab; v++) {
                worst = Math.max(worst, Math.abs(a[v] - values[at + v]) / scale[j]);
            }
            assertTrue(worst <= LIMIT, "step " + j + " at position " + p + ": difference " + worst
                    + " of the step's largest logit " + scale[j]);
            return worst;
        }
    }
}
