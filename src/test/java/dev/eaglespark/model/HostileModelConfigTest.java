package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.testutil.Fixtures;
import java.io.IOException;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * config.json numbers of the wrong kind are refused with the key named, never rounded or
 * replaced by a default: the tiny Llama 3 fixture's config with one value broken at a time.
 * Parsing only (no weights): well under a second.
 */
class HostileModelConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode fixture() throws IOException {
        return (ObjectNode) JSON.readTree(Fixtures.path("tiny-llama3").resolve("config.json").toFile());
    }

    private static TargetConfig parse(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode c = fixture();
        edit.accept(c);
        return TargetConfig.parse(c, "model/config.json");
    }

    @Test
    void wrongKindsOfNumbersAreRefusedWithTheKeyNamed() throws IOException {
        Map<String, Consumer<ObjectNode>> broken = Map.ofEntries(
                Map.entry("num_hidden_layers must be a positive integer, got 6.5", c -> c.put("num_hidden_layers", 6.5)),
                Map.entry("num_hidden_layers must be a positive integer, got \"6\"", c -> c.put("num_hidden_layers", "6")),
                Map.entry("hidden_size must be a positive integer, got 0", c -> c.put("hidden_size", 0)),
                Map.entry("vocab_size must be a positive integer, got 1.0E20", c -> c.put("vocab_size", 1e20)),
                Map.entry("num_key_value_heads must be a positive integer, got -2", c -> c.put("num_key_value_heads", -2)),
                Map.entry("rope_theta must be a positive finite number, got \"abc\"", c -> c.put("rope_theta", "abc")),
                Map.entry("rope_theta must be a positive finite number, got 0", c -> c.put("rope_theta", 0)),
                Map.entry("rms_norm_eps must be a positive finite number, got -1", c -> c.put("rms_norm_eps", -1)),
                Map.entry("rms_norm_eps must be a positive finite number, got 0.0", c -> c.put("rms_norm_eps", 0.0)),
                Map.entry("rms_norm_eps must be a positive finite number, got \"1e-5\"", c -> c.put("rms_norm_eps", "1e-5")),
                Map.entry("rope_scaling: factor must be a positive finite number, got -8.0",
                        c -> ((ObjectNode) c.get("rope_scaling")).put("factor", -8.0)),
                Map.entry("rope_scaling: missing low_freq_factor",
                        c -> ((ObjectNode) c.get("rope_scaling")).remove("low_freq_factor")),
                Map.entry("tie_word_embeddings must be true or false, got \"yes\"", c -> c.put("tie_word_embeddings", "yes")),
                Map.entry("eos_token_id must be a token id (an integer >= 0), got \"</s>\"",
                        c -> c.putArray("eos_token_id").add(2).add("</s>")),
                Map.entry("bos_token_id must be a token id (an integer >= 0), got -1", c -> c.put("bos_token_id", -1)),
                Map.entry("max_position_embeddings must be a positive integer, got 4096.5",
                        c -> c.put("max_position_embeddings", 4096.5)));
        broken.forEach((message, edit) -> {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> parse(edit), message);
            assertTrue(e.getMessage().startsWith("model/config.json"), e.getMessage());
            assertTrue(e.getMessage().contains(message), message + " | " + e.getMessage());
        });
    }

    @Test
    void validValuesStillRead() throws IOException {
        TargetConfig c = parse(n -> n.put("num_hidden_layers", 6.0).putNull("head_dim").putNull("bos_token_id"));
        assertEquals(6, c.numLayers(), "an integral float is an integer");
        assertEquals(16, c.headDim(), "null head_dim: hidden / heads");
        assertEquals(-1, c.bosTokenId());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(500000.0, c.rope().theta());
        assertEquals(java.util.List.of(2), c.eosTokenIds());
    }
}
