package dev.eaglespark.data;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A model's Jinja chat template, rendered as transformers' {@code apply_chat_template} would:
 * same text, byte for byte, for the same messages and flags.
 */
public final class ChatTemplate {
    private final Jinjava jinjava = JinjaEnvironment.create();
    private final String source;
    private final Map<String, Object> globals;
    private final Clock clock;

    /**
     * @param source  the template text
     * @param globals variables every render sees: special tokens and template options
     *                ({@code enable_thinking}, ...)
     */
    public ChatTemplate(String source, Map<String, ?> globals, Clock clock) {
        this.source = TemplatePrepass.rewrite(source);
        this.globals = new HashMap<>(globals);
        // Jinjava functions are not variables; templates test "strftime_now is defined" first.
        this.globals.put("strftime_now", "strftime_now");
        this.globals.put("raise_exception", "raise_exception");
        this.clock = clock;
    }

    public static ChatTemplate of(TokenizerConfig config, String name, Clock clock) {
        String text = config.template(name)
                .orElseThrow(() -> new IllegalArgumentException("tokenizer_config.json has no chat_template"));
        return new ChatTemplate(text, config.specialTokens(), clock);
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> vars = new HashMap<>(globals);
        vars.put("messages", toTemplateMessages(messages));
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderResult[] result = new RenderResult[1];
        TemplateFunctions.withClock(clock, () -> result[0] = jinjava.renderForResult(source, vars));
        List<TemplateError> fatal = result[0].getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .collect(Collectors.toList());
        if (!fatal.isEmpty()) {
            throw new TemplateException(fatal.stream().map(TemplateError::getMessage)
                    .collect(Collectors.joining("; ")));
        }
        return result[0].getOutput();
    }

    private static List<Map<String, Object>> toTemplateMessages(List<Message> messages) {
        List<Map<String, Object>> out = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role().wireName());
            map.put("content", m.content());
            out.add(map);
        }
        return out;
    }
}
