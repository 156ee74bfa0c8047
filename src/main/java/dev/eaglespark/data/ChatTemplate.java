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

    /** Bundled template for models without one (stories15M): "User: ..." / "Assistant: ...</s>". */
    public static final String DEFAULT_RESOURCE = "/dev/eaglespark/templates/default_chat_template.jinja";

    /** The model's template (named, else its default); fails if it has none. */
    public static ChatTemplate of(TokenizerConfig config, String name, Clock clock) {
        String text = config.template(name)
                .orElseThrow(() -> new IllegalArgumentException("tokenizer_config.json has no chat_template"));
        return new ChatTemplate(text, config.specialTokens(), clock);
    }

    /**
     * The template to train with: {@code override} if given (the text of a template file), else
     * the model's own, else the bundled {@link #DEFAULT_RESOURCE}.
     */
    public static ChatTemplate forModel(TokenizerConfig config, String override, Clock clock) {
        if (override != null) {
            return new ChatTemplate(override, config.specialTokens(), clock);
        }
        return new ChatTemplate(config.template(null).orElseGet(ChatTemplate::bundledDefault), config.specialTokens(), clock);
    }

    static String bundledDefault() {
        try (java.io.InputStream in = ChatTemplate.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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
            throw new TemplateException(fatal.stream().map(ChatTemplate::describe).collect(Collectors.joining("; ")));
        }
        return result[0].getOutput();
    }

    /** The error, with the template's own message where it raised one (raise_exception). */
    private static String describe(TemplateError e) {
        for (Throwable t = e.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateException raised) {
                return raised.getMessage();
            }
        }
        return e.getMessage();
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
