package dev.eaglespark.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
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
            Random r = new Random(5);
            List<TokenizedSample> samples = new ArrayList<>();
            for (int i = 0; i < 37; i++) { // windows of 8 that split into several batches, and a short last one
                int n = 3 + r.nextInt(40);
                byte[] mask = new byte[n];
                Arrays.fill(mask, (byte) 1);
                samples.add(new TokenizedSample("s" + i, r.ints(n, 0, model.config().vocabSize()).toArray(), mask));
            }
            int[] aux = {1, 2, 4};
            FeatureExtractor sequential = new FeatureExtractor(model, aux, 96, 8, false);
            List<FeatureRecord> expected = new ArrayList<>();
            for (int w = 0; w < samples.size(); w += 8) {
                for (List<TokenizedSample> b : sequential.batches(samples.subList(w, Math.min(samples.size(), w + 8)))) {
                    expected.addAll(sequential.run(b, x -> fail(x.toString())));
                }
            }
            List<FeatureRecord> got = new ArrayList<>();
            new FeatureExtractor(model, aux, 96, 8, true).extract(samples.iterator(), x -> fail(x.toString()))
                    .forEachRemaining(got::add);
            assertEquals(samples.size(), got.size());
            for (int i = 0; i < got.size(); i++) {
                assertEquals(expected.get(i).id(), got.get(i).id());
                assertArrayEquals(expected.get(i).auxHidden(), got.get(i).auxHidden(), got.get(i).id());
                assertArrayEquals(expected.get(i).lastHidden(), got.get(i).lastHidden(), got.get(i).id());
            }
        }
    }
}
