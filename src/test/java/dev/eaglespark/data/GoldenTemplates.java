package dev.eaglespark.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** fixtures/templates/chat_template_golden.json: templates, conversations and reference renders. */
final class GoldenTemplates {
    record Render(String template, String conversation, String text, String generationPromptText,
                  List<int[]> assistantSpans) {}

    final JsonNode root;
    final Clock clock;
    final Map<String, TokenizerConfig> templates = new LinkedHashMap<>();
    final Map<String, List<Message>> conversations = new LinkedHashMap<>();
    final List<Render> renders = new ArrayList<>();

    private GoldenTemplates(JsonNode root) {
        this.root = root;
        // Python's strftime_now reads naive local time; the reference froze it at this instant.
        this.clock = Clock.fixed(LocalDateTime.parse(root.get("now").asText()).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
        root.get("templates").fields().forEachRemaining(e -> templates.put(e.getKey(), TokenizerConfig.of(e.getValue())));
        for (JsonNode c : root.get("conversations")) {
            List<Message> messages = new ArrayList<>();
            for (JsonNode m : c.get("messages")) {
                messages.add(new Message(Role.parse(m.get("role").asText()).orElseThrow(), m.get("content").asText()));
            }
            conversations.put(c.get("id").asText(), messages);
        }
        for (JsonNode r : root.get("renders")) {
            List<int[]> spans = new ArrayList<>();
            for (JsonNode s : r.get("assistant_spans")) {
                spans.add(s.isNull() ? null : new int[] {s.get(0).asInt(), s.get(1).asInt()});
            }
            renders.add(new Render(r.get("template").asText(), r.get("conversation").asText(), r.get("text").asText(),
                    r.get("generation_prompt_text").asText(), spans));
        }
    }

    static GoldenTemplates load() {
        try (InputStream in = GoldenTemplates.class.getResourceAsStream("/fixtures/templates/chat_template_golden.json")) {
            return new GoldenTemplates(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ChatTemplate template(String name) {
        return ChatTemplate.of(templates.get(name), null, clock);
    }

    /** The messages up to and including the last user turn, as the reference's generation prompt used. */
    static List<Message> upToLastUser(List<Message> messages) {
        int last = -1;
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).role() == Role.USER) {
                last = i;
            }
        }
        return messages.subList(0, last + 1);
    }
}
