package dev.eaglespark.features;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.gpu.GpuCheck;
import dev.eaglespark.model.TargetModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Stage 1 on a GPU: the pipelined extractor (forward on its own stream, copies on the default
 * stream by the copier thread) against the batches computed one at a time, after a warm-up pass
 * so that both run the fused kernels. Limit: the same records in the same order, byte for byte.
 */
public final class GpuPipelineCheck {
    private GpuPipelineCheck() {}

    public static void main(String[] dirs) {
        for (String dir : dirs) {
            try (TargetModel gpu = TargetModel.load(Path.of(dir), Device.gpu(), DataType.FLOAT16)) {
                List<TokenizedSample> samples = FeatureExtractorTest.randomSamples(60, 5, 60, gpu.config().vocabSize());
                int[] aux = {1, 2, 4};
                FeatureExtractor oneAtATime = new FeatureExtractor(gpu, aux, 128, 8, false);
                FeatureExtractorTest.oneBatchAtATime(oneAtATime, samples, 8); // a warm-up pass: the fused kernels after it
                List<FeatureRecord> expected = FeatureExtractorTest.oneBatchAtATime(oneAtATime, samples, 8);
                List<FeatureRecord> got = new ArrayList<>();
                new FeatureExtractor(gpu, aux, 128, 8, true).extract(samples.iterator(), FeatureExtractorTest::unexpected)
                        .forEachRemaining(got::add);
                boolean same = expected.size() == got.size();
                for (int i = 0; same && i < got.size(); i++) {
                    same = expected.get(i).id().equals(got.get(i).id())
                            && Arrays.equals(expected.get(i).auxHidden(), got.get(i).auxHidden())
                            && Arrays.equals(expected.get(i).lastHidden(), got.get(i).lastHidden());
                }
                GpuCheck.report(same, String.format("%s: %d records one batch at a time, %d pipelined, identical: %s",
                        Path.of(dir).getFileName(), expected.size(), got.size(), same));
            }
        }
        GpuCheck.exit();
    }
}
