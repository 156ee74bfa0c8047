package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.Fixtures;
import dev.eaglespark.testutil.Stories15MFeatures;
import dev.eaglespark.train.BatchBuilder;
import dev.eaglespark.train.DraftTrainer;
import dev.eaglespark.train.TrainSettings;
import dev.eaglespark.vocab.DraftVocab;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
            float[] training = new TrainTimeTest(draft, TTT, 0.8, LossType.FORWARD_KL, labels)
                    .stepLogits(in.batch()).toFloatArray();
            long[] ids = java.util.Arrays.stream(row.inputIds()).asLongStream().toArray();
            TeacherForcing check = new TeacherForcing(draft, ids, in.batch().aux(), training, TTT, vocab.size());
            double worst = check.run(m);
            assertTrue(worst <= LIMIT, "largest difference " + worst + " at " + check.worstAt());
            System.out.printf("draft inference vs training on %d positions x %d steps: largest difference %.2e of "
                    + "the step's largest logit%n", t, TTT, worst);
        }
    }

    /**
     * The same on the reference dumps' drafts, which group 4 query heads on 2 KV heads (stories15M
     * has no GQA), with the standard head (256-token draft vocabulary) and the shared one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"eagle3_standard_forward_kl", "eagle3_shared_head_forward_kl"})
    void groupedQueryDraftsToo(String fixture) throws Exception {
        TeacherForcing check = TeacherForcing.onFixture(Fixtures.path(fixture + ".json").getParent(), fixture, Device.cpu());
        assertTrue(check.worst() <= LIMIT, "largest difference " + check.worst() + " at " + check.worstAt());
    }

    private static void trainBriefly(DraftParams params, DraftConfig cfg, SoftLabels labels, BatchBuilder batches) {
        TrainSettings s = TrainSettings.builder().tttLength(TTT).loss(LossType.FORWARD_KL).lr(5e-3).minLr(5e-3)
                .warmupSteps(0).totalSteps(8).clipNorm(1.0).build().forRun(3, Precision.FP32);
        try (DraftTrainer trainer = new DraftTrainer(params, cfg, labels, s, DraftTrainer.GradientReducer.SINGLE)) {
            for (int i = 0; i < 3; i++) {
                trainer.update(List.of(scope -> batches.build(scope, List.of(row))));
            }
        }
    }
}
