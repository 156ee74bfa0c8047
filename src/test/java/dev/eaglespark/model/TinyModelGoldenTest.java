package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The three architecture fixtures (Llama 3 with llama3 rope scaling and GQA, Qwen2 with q/k/v
 * biases, Qwen3 with q/k norms) against transformers' fp32 outputs, in both config layouts.
 * Tolerance: 1e-4 relative to each tensor's largest magnitude, on the positions the attention
 * mask keeps.
 */
class TinyModelGoldenTest {
    private static final double REL = 1e-4;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"tiny-llama3, config.json", "tiny-llama3, config.v5.json",
                "tiny-qwen2, config.json", "tiny-qwen2, config.v5.json",
                "tiny-qwen3, config.json", "tiny-qwen3, config.v5.json"})
    void matchesTransformers(String model, String configName) throws IOException {
        Path dir = modelDir(model, configName);
        try (TargetModel target = TargetModel.load(dir, Device.cpu());
             SafeTensorsFile golden = SafeTensorsFile.open(Fixtures.path(model + "/golden.safetensors"));
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            TargetConfig cfg = target.config();
            int layers = cfg.numLayers();
            long[] ids = golden.readLongs("input_ids");
            long[] mask = golden.readLongs("attention_mask");
            long[] shape = golden.info("input_ids").shape();
            int batch = (int) shape[0], t = (int) shape[1], h = cfg.hiddenSize(), v = cfg.vocabSize();
            List<long[]> rows = new ArrayList<>();
            int[] lengths = new int[batch];
            for (int b = 0; b < batch; b++) {
                lengths[b] = (int) Arrays.stream(mask, b * t, (b + 1) * t).sum();
                rows.add(Arrays.copyOfRange(ids, b * t, b * t + lengths[b]));
            }
            ForwardResult r = target.forward(m, rows, ForwardRequest.everything(layers));
            float[] hs = golden.readFloats("hidden_states");
            float[] logits = golden.readFloats("logits");
            for (int i = 0; i <= layers; i++) {
                NDArray actual = i < layers ? r.hidden().get(i) : r.normedHidden();
                for (int b = 0; b < batch; b++) {
                    int off = ((i * batch + b) * t) * h;
                    float[] expected = Arrays.copyOfRange(hs, off, off + lengths[b] * h);
                    float[] got = Arrays.copyOf(actual.get(b).toFloatArray(), lengths[b] * h);
                    Close.assertRelative(model + " hidden_states[" + i + "] row " + b, expected, got, REL);
                }
            }
            for (int b = 0; b < batch; b++) {
                float[] expected = Arrays.copyOfRange(logits, b * t * v, (b * t + lengths[b]) * v);
                float[] got = Arrays.copyOf(r.logits().get(b).toFloatArray(), lengths[b] * v);
                Close.assertRelative(model + " logits row " + b, expected, got, REL);
            }
            // The last hidden state before the final norm is transformers' output of the last layer.
            assertEquals(r.lastHidden().getShape(), r.normedHidden().getShape());

            long[] prompt = golden.readLongs("greedy_prompt");
            long[] expectedGreedy = golden.readLongs("greedy");
            long[] greedy = new Generator(target, Set.of())
                    .generate(List.of(Generator.Request.greedy(prompt, expectedGreedy.length))).get(0).tokens();
            assertArrayEquals(expectedGreedy, greedy, model + " greedy continuation");
        }
    }

    private Path modelDir(String model, String configName) throws IOException {
        Path src = Fixtures.path(model);
        if (configName.equals("config.json")) {
            return src;
        }
        Path dir = Files.createDirectories(tmp.resolve(model));
        Files.copy(src.resolve(configName), dir.resolve("config.json"));
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }
}
