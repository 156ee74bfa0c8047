package dev.eaglespark.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.model.ForwardRequest;
import dev.eaglespark.model.ForwardResult;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.Fixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * stories15M fetched from npm, converted from llama2.c's format, against transformers' fp32
 * outputs for prompts p0..p2: every hidden state and the logits within 1e-4 relative to each
 * tensor's largest magnitude, and the 24-token greedy continuations token for token.
 */
class Stories15MGoldenTest {
    private static final double REL = 1e-4;
    private static TargetModel model;
    private static SafeTensorsFile golden;

    @BeforeAll
    static void load() throws IOException {
        model = TargetModel.load(Stories15M.ensure(), Device.cpu());
        golden = SafeTensorsFile.open(Fixtures.path("stories15M/golden.safetensors"));
    }

    @AfterAll
    static void close() {
        model.close();
        golden.close();
    }

    @Test
    void convertedConfigMatchesTransformersConfig() throws IOException {
        TargetConfig ours = model.config();
        TargetConfig ref = TargetConfig.load(Fixtures.path("stories15M/config.json"));
        assertEquals(ref, ours);
    }

    @Test
    void hiddenStatesLogitsAndGreedyMatchTransformers() {
        int layers = model.config().numLayers();
        int h = model.config().hiddenSize();
        for (String p : List.of("p0", "p1", "p2")) {
            long[] ids = golden.readLongs(p + ".input_ids");
            try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                ForwardResult r = model.forward(m, List.of(ids), ForwardRequest.everything(layers));
                float[] hs = golden.readFloats(p + ".hidden_states");
                int per = ids.length * h;
                for (int i = 0; i <= layers; i++) {
                    NDArray actual = i < layers ? r.hidden().get(i) : r.normedHidden();
                    Close.assertRelative(p + " hidden_states[" + i + "]",
                            Arrays.copyOfRange(hs, i * per, (i + 1) * per), actual.toFloatArray(), REL);
                }
                Close.assertRelative(p + " logits", golden.readFloats(p + ".logits"), r.logits().toFloatArray(), REL);
            }
            long[] greedy = new Generator(model, Set.of())
                    .generate(List.of(Generator.Request.greedy(ids, 24))).get(0).tokens();
            assertArrayEquals(golden.readLongs(p + ".greedy"), greedy, p + " greedy");
        }
    }

    @Test
    void tokenizerReproducesTransformersIds() throws IOException {
        JsonNode cases = new ObjectMapper().readTree(Fixtures.path("stories15M/tokenizer_golden.json").toFile());
        Path tok = Fixtures.path("stories15M/tokenizer.json");
        // Explicit max length: the library otherwise truncates at 512 tokens.
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.builder().optTokenizerPath(tok)
                .optTruncation(false).optPadding(false).optAddSpecialTokens(true).build()) {
            JsonNode list = cases.isArray() ? cases : cases.get("cases");
            for (JsonNode c : list) {
                Encoding e = t.encode(c.get("text").asText());
                long[] expected = new ObjectMapper().convertValue(c.get("ids"), long[].class);
                assertArrayEquals(expected, e.getIds(), "ids of " + c.get("text"));
            }
        }
    }
}
