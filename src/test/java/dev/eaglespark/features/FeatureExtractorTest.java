package dev.eaglespark.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.Fixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The pipelined iterator (one batch read by the copier thread while the next is computed, as on
 * a GPU) yields exactly what computing the batches one at a time yields, in the same order.
 */
class FeatureExtractorTest {
    @Test
    void pipelinedIteratorYieldsTheBatchesOneAtATimeWouldGive() {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu(), DataType.FLOAT32)) {
            // windows of 8 that split into several batches, and a short last one
            List<TokenizedSample> samples = randomSamples(37, 3, 40, model.config().vocabSize());
            int[] aux = {1, 2, 4};
            List<FeatureRecord> expected = oneBatchAtATime(new FeatureExtractor(model, aux, 96, 8, false), samples, 8);
            List<FeatureRecord> got = new ArrayList<>();
            new FeatureExtractor(model, aux, 96, 8, true).extract(samples.iterator(), FeatureExtractorTest::unexpected)
                    .forEachRemaining(got::add);
            assertEquals(samples.size(), got.size());
            for (int i = 0; i < got.size(); i++) {
                assertEquals(expected.get(i).id(), got.get(i).id());
                assertArrayEquals(expected.get(i).auxHidden(), got.get(i).auxHidden(), got.get(i).id());
                assertArrayEquals(expected.get(i).lastHidden(), got.get(i).lastHidden(), got.get(i).id());
            }
        }
    }

    /**
     * The overflow check flags exactly the tokens with an inf or NaN in either array, and not rows
     * of large finite values whose sum would overflow fp16 (the rows are summed in fp32).
     */
    @Test
    void nonFiniteRowsFlagsInfAndNanButNotLargeFiniteRows() {
        float inf = Float.POSITIVE_INFINITY;
        float[][] fusedRows = {
            {1f, -2f, 3f, 0.5f, 0f, 7f}, // finite
            {65504f, 65504f, 65504f, 65504f, 65504f, 65504f}, // finite, but its sum overflows fp16
            {1f, Float.NaN, 3f, 0f, 0f, 0f},
            {1f, 2f, inf, 0f, 0f, 0f},
            {-inf, 2f, 3f, 0f, 0f, 0f},
            {inf, -inf, 0f, 0f, 0f, 0f}, // the infinities cancel to NaN
            {1f, 2f, 3f, 4f, 5f, 6f}, // finite here; the last hidden state is not
            {-65504f, -65504f, -65504f, 65504f, 65504f, 65504f}};
        float[][] lastRows = {{1f, 2f}, {65504f, 65504f}, {0f, 0f}, {0f, 0f}, {0f, 0f}, {0f, 0f}, {Float.NaN, 0f}, {3f, -3f}};
        boolean[] expected = {false, false, true, true, true, true, true, false};
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray fused = m.create(flat(fusedRows), new Shape(2, 4, 6)).toType(DataType.FLOAT16, false);
            NDArray last = m.create(flat(lastRows), new Shape(2, 4, 2)).toType(DataType.FLOAT16, false);
            NDArray bad = FeatureExtractor.nonFiniteRows(fused, last);
            assertEquals(new Shape(2, 4), bad.getShape());
            assertArrayEquals(expected, bad.toBooleanArray());
        }
    }

    private static float[] flat(float[][] rows) {
        int width = rows[0].length;
        float[] out = new float[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * width, width);
        }
        return out;
    }

    /** {@code count} samples of random ids, of lengths min to min + spread - 1, every token trained on. */
    static List<TokenizedSample> randomSamples(int count, int min, int spread, int vocab) {
        Random r = new Random(5);
        List<TokenizedSample> samples = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = min + r.nextInt(spread);
            byte[] mask = new byte[n];
            Arrays.fill(mask, (byte) 1);
            samples.add(new TokenizedSample("s" + i, r.ints(n, 0, vocab).toArray(), mask));
        }
        return samples;
    }

    /** The records of each window's batches, computed one batch at a time through run(). */
    static List<FeatureRecord> oneBatchAtATime(FeatureExtractor fx, List<TokenizedSample> samples, int window) {
        List<FeatureRecord> out = new ArrayList<>();
        for (int w = 0; w < samples.size(); w += window) {
            for (List<TokenizedSample> b : fx.batches(samples.subList(w, Math.min(samples.size(), w + window)))) {
                out.addAll(fx.run(b, FeatureExtractorTest::unexpected));
            }
        }
        return out;
    }

    /** A reject sink for inputs that must all pass. */
    static void unexpected(Reject r) {
        throw new IllegalStateException("unexpected reject " + r);
    }
}
