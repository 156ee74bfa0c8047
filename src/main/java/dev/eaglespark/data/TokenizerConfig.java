package dev.eaglespark.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of a Hugging Face {@code tokenizer_config.json} that rendering needs: the chat
 * template(s) and the special-token strings templates refer to ({@code bos_token}, ...).
 */
public final class TokenizerConfig {
    private static final String[] TOKEN_KEYS = {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token",
            "cls_token", "mask_token"};

    private final Map<String, String> templates;
    private final Map<String, Object> specialTokens;

    TokenizerConfig(Map<String, String> templates, Map<String, Object> specialTokens) {
        this.templates = templates;
        this.specialTokens = specialTokens;
    }

    public static TokenizerConfig read(InputStream json) throws IOException {
        return of(new ObjectMapper().readTree(json));
    }

    public static TokenizerConfig of(JsonNode root) {
        Map<String, String> templates = new LinkedHashMap<>();
        JsonNode t = root.path("chat_template");
        if (t.isTextual()) {
            templates.put("default", t.asText());
        } else if (t.isArray()) {
            // Named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}].
            for (JsonNode named : t) {
                templates.put(named.path("name").asText("default"), named.path("template").asText());
            }
        }
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String key : TOKEN_KEYS) {
            tokens.put(key, tokenText(root.get(key)));
        }
        return new TokenizerConfig(templates, tokens);
    }

    /** Special tokens are either a string or an AddedToken object with a {@code content}. */
    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        return node.isObject() ? node.path("content").asText(null) : node.asText();
    }

    /** The named template, else {@code default}, else none (a model without a template). */
    public Optional<String> template(String name) {
        if (name != null && templates.containsKey(name)) {
            return Optional.of(templates.get(name));
        }
        return Optional.ofNullable(templates.get("default"));
    }

    /** {@code bos_token}, {@code eos_token}, ... as template variables (values may be null). */
    public Map<String, Object> specialTokens() {
        return java.util.Collections.unmodifiableMap(specialTokens);
    }
}
