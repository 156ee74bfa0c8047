package dev.eaglespark.regen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.data.ChatTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where generation stops: the eos ids of config.json and generation_config.json, their bos id
 * (a model that starts a new text has finished this one: stories15M, like llama2.c models,
 * ends a story with it and never emits eos), and the end-of-turn tokens of the common chat
 * formats when the tokenizer has them (a chat model ends its turn with them, not with the
 * end-of-text token).
 */
public final class StopTokens {
    private static final List<String> END_OF_TURN = List.of("<|eot_id|>", "<|im_end|>", "<|end_of_text|>",
            "<|endoftext|>", "</s>", "<|eom_id|>");

    private StopTokens() {}

    public static Set<Long> of(Path modelDir, ChatTokenizer tokenizer) throws IOException {
        Set<Long> ids = new HashSet<>();
        ObjectMapper json = new ObjectMapper();
        for (String file : List.of("config.json", "generation_config.json")) {
            Path p = modelDir.resolve(file);
            if (Files.isRegularFile(p)) {
                JsonNode config = json.readTree(p.toFile());
                addIds(config.get("eos_token_id"), ids);
                addIds(config.get("bos_token_id"), ids);
            }
        }
        for (String t : END_OF_TURN) {
            Integer id = tokenizer.specialId(t);
            if (id != null) {
                ids.add((long) id);
            }
        }
        return ids;
    }

    private static void addIds(JsonNode n, Set<Long> ids) {
        if (n == null) {
            return;
        }
        if (n.isArray()) {
            n.forEach(x -> ids.add(x.asLong()));
        } else if (n.isIntegralNumber()) {
            ids.add(n.asLong());
        }
    }
}
