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
 * same text, byte for byte, for the same messages and flags. Templates come from model
 * directories, so each render runs sandboxed within its {@link TemplateLimits}.
 */
public final class ChatTemplate {
    private static final int MAX_MESSAGE_CHARS = 1000;
    private final TemplateLimits limits;
    private final Jinjava jinjava;
    private final TemplateRunner runner;
    private final String source;
    /** Why the template cannot be rendered at all, or null. */
    private final String invalid;
    private final Map<String, Object> globals;
    private final Clock clock;

    /**
     * @param source  the template text
     * @param globals variables every render sees: special tokens and template options
     *                ({@code enable_thinking}, ...)
     */
    public ChatTemplate(String source, Map<String, ?> globals, Clock clock) {
        this(source, globals, clock, TemplateLimits.defaults());
    }

    public ChatTemplate(String source, Map<String, ?> globals, Clock clock, TemplateLimits limits) {
        this.limits = limits;
        this.jinjava = JinjaEnvironment.create(limits);
        String rewritten = null;
        String invalid = null;
        try {
            rewritten = TemplatePrepass.rewrite(source);
        } catch (TemplateException e) {
            invalid = e.getMessage(); // every render is rejected with it, as for any template error
        }
        this.source = rewritten;
        this.invalid = invalid;
        this.runner = new TemplateRunner(source);
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
        return forModel(config, override, clock, TemplateLimits.defaults());
    }

    public static ChatTemplate forModel(TokenizerConfig config, String override, Clock clock, TemplateLimits limits) {
        String text = override != null ? override : config.template(null).orElseGet(ChatTemplate::bundledDefault);
        return new ChatTemplate(text, config.specialTokens(), clock, limits);
    }

    static String bundledDefault() {
        try (java.io.InputStream in = ChatTemplate.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public String render(List<Message> messages, boolean addGenerationPrompt) {
        if (invalid != null) {
            throw new TemplateException(invalid);
        }
        Map<String, Object> vars = new HashMap<>(globals);
        vars.put("messages", toTemplateMessages(messages));
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderBudget budget = new RenderBudget(limits);
        RenderResult result = runner.run(budget, () -> {
            RenderResult[] r = new RenderResult[1];
            TemplateFunctions.withClock(clock, () -> r[0] = jinjava.renderForResult(source, vars));
            return r[0];
        });
        if (budget.violation() != null) {
            throw new TemplateBudgetException(budget.violation());
        }
        for (TemplateError e : result.getErrors()) {
            String exceeded = RenderBudget.budgetOf(e, limits);
            if (exceeded != null) {
                throw new TemplateBudgetException(exceeded);
            }
        }
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .collect(Collectors.toList());
        if (!fatal.isEmpty()) {
            throw new TemplateException(fatal.stream().map(ChatTemplate::describe).collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }

    /**
     * The error, with the template's own message where it raised one (raise_exception); cut
     * short, since engine messages quote the values involved (a rejects entry is one line).
     */
    private static String describe(TemplateError e) {
        String message = e.getMessage();
        for (Throwable t = e.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateException raised) {
                message = raised.getMessage();
                break;
            }
        }
        return message.length() <= MAX_MESSAGE_CHARS ? message
                : message.substring(0, MAX_MESSAGE_CHARS) + "... (" + message.length() + " chars)";
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
