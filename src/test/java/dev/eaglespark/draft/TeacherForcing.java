package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.tensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A draft's inference steps ({@link DraftInference}) run teacher-forced over one sequence and
 * compared with the training script's logits of the same weights and inputs: at every position p,
 * step 0 after observing p (token p+1) and chain steps 1..ttt-1 fed tokens p+2.. (0 past the end,
 * as training's shifted ids); then again observing several positions per call (the first chunk a
 * prompt), compared at each chunk's last position. The difference is the largest absolute one
 * over a step's logits, relative to that step's largest training logit.
 */
final class TeacherForcing {
    private static final int[] CHUNKS = {37, 1, 4, 2, 7, 3, 5};
    private final Eagle3Draft draft;
    private final long[] ids;
    private final NDArray aux;
    private final float[] training;
    private final int ttt;
    private final int vocab;
    private final double[] scale;
    private double worst;
    private String worstAt = "nowhere";

    /**
     * @param ids the sequence's tokens; {@code aux} [1, T, numAux x Ht] its fused target states;
     *     {@code training} the training script's logits [ttt, 1, T, vocab]
     */
    TeacherForcing(Eagle3Draft draft, long[] ids, NDArray aux, float[] training, int ttt, int vocab) {
        this.draft = draft;
        this.ids = ids;
        this.aux = aux;
        this.training = training;
        this.ttt = ttt;
        this.vocab = vocab;
        this.scale = new double[ttt];
        for (int i = 0; i < training.length; i++) {
            int step = i / (ids.length * vocab);
            scale[step] = Math.max(scale[step], Math.abs(training[i]));
        }
    }

    /**
     * The check on a reference dump ({@code dir/name.safetensors} and {@code .json}: a draft with
     * 4 query heads on 2 KV heads, the standard or shared head), its first row and weights, on
     * {@code device}; returns the finished check.
     */
    static TeacherForcing onFixture(Path dir, String name, Device device) throws IOException {
        var meta = new ObjectMapper().readTree(dir.resolve(name + ".json").toFile());
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve(name + ".safetensors"));
             NDManager m = NDManager.newBaseManager(device);
             DraftParams params = new DraftParams(device)) {
            ReferenceBatch ref = ReferenceBatch.of(f, meta);
            ref.putParams(params, m);
            try (SoftLabels soft = ref.softLabels(m, DataType.FLOAT32)) {
                TrainTimeTest.Inputs in = ref.inputs(m, DataType.FLOAT32);
                NDArray ids = in.batch().inputIds().get("0:1");
                NDArray aux = in.batch().aux().get("0:1");
                NDArray mask = in.batch().lossMask().get("0:1");
                TrainTimeTest.Batch row = TrainTimeTest.Batch.of(ids, new long[] {ids.getShape().get(1)}, mask, aux);
                Eagle3Draft draft = new Eagle3Draft(ref.config(), params);
                float[] training = new TrainTimeTest(draft, ref.tttLength(), 0.8, ref.loss(), soft)
                        .stepLogits(row).toFloatArray();
                TeacherForcing check = new TeacherForcing(draft, ids.toLongArray(), aux, training, ref.tttLength(),
                        ref.config().draftVocabSize());
                check.run(m);
                return check;
            }
        }
    }

    double worst() {
        return worst;
    }

    /** Both passes; returns the largest difference (see {@link #worstAt()} for where). */
    double run(NDManager m) {
        int t = ids.length;
        try (DraftInference inference = new DraftInference(draft, m)) {
            for (int p = 0; p < t; p++) {
                compare(0, p, inference.observe(new long[] {token(p + 1)}, aux.get(":, {}:{}", p, p + 1)));
                chain(inference, p);
            }
        }
        try (DraftInference inference = new DraftInference(draft, m)) {
            for (int start = 0, c = 0; start < t; c++) {
                int end = Math.min(t, start + CHUNKS[c % CHUNKS.length]);
                long[] tokens = new long[end - start];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = token(start + i + 1);
                }
                compare(0, end - 1, inference.observe(tokens, aux.get(":, {}:{}", start, end)));
                chain(inference, end - 1);
                start = end;
            }
        }
        return worst;
    }

    String worstAt() {
        return worstAt;
    }

    private long token(int position) {
        return position < ids.length ? ids[position] : 0;
    }

    private void chain(DraftInference inference, int p) {
        try (DraftInference.Chain chain = inference.chain()) {
            for (int j = 1; j < ttt; j++) {
                compare(j, p, chain.next(token(p + 1 + j)));
            }
        }
    }

    private void compare(int step, int p, NDArray actual) {
        float[] a = actual.toFloatArray();
        int at = (step * ids.length + p) * vocab;
        for (int v = 0; v < vocab; v++) {
            double d = Math.abs(a[v] - training[at + v]) / scale[step];
            if (d > worst) {
                worst = d;
                worstAt = "step " + step + " at position " + p + " (the step's largest logit " + scale[step] + ")";
            }
        }
    }
}
