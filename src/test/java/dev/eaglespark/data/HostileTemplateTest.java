package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Chat templates as untrusted code (they come from model directories): adversarial templates
 * of growing size, each rendering while small and rejected with the budget it exceeded once
 * large, never hanging the render or exhausting the heap. Most cases run under small limits
 * (1 MiB of output) to stay cheap; the default limits are shown where the issue was reported
 * with them. About 6 s in all.
 */
class HostileTemplateTest {
    private static final List<Message> CHAT = List.of(new Message(Role.USER, "hi"), new Message(Role.ASSISTANT, "yo"));
    private static final TemplateLimits SMALL = TemplateLimits.parse("output=1m,list=100k,loops=100k,depth=16");

    private static String render(String template, TemplateLimits limits) {
        return new ChatTemplate(template, Map.of(), Clock.systemUTC(), limits).render(CHAT, false);
    }

    /** The rejection message of a template that must fail. */
    private static String rejected(String template, TemplateLimits limits) {
        return assertThrows(TemplateException.class, () -> render(template, limits), template).getMessage();
    }

    private static void assertBudget(String budget, String template, TemplateLimits limits) {
        TemplateException e = assertThrows(TemplateBudgetException.class, () -> render(template, limits), template);
        assertTrue(e.getMessage().contains("template limit '" + budget + "'"), template + ": " + e.getMessage());
    }

    @Test
    void templatesCannotLoadOtherFiles() throws IOException {
        // log4j2.xml is on the classpath: Jinjava's default locator would render it.
        for (String t : List.of("{% include 'log4j2.xml' %}", "{% import 'log4j2.xml' as x %}",
                "{% from 'log4j2.xml' import y %}", "{% extends 'log4j2.xml' %}")) {
            String message = rejected(t, TemplateLimits.defaults());
            assertTrue(message.contains("disabled"), t + ": " + message);
            assertTrue(!message.contains("Configuration"), "nothing of the file leaks: " + message);
        }
        // The second lock: no template text can be found by name at all.
        var locator = JinjaEnvironment.create(TemplateLimits.defaults()).getResourceLocator();
        assertThrows(IOException.class, () -> locator.getString("log4j2.xml", StandardCharsets.UTF_8, null));
        for (String f : List.of("regex_replace('a+', 'b')", "render", "fromyaml", "fromjson")) {
            assertTrue(rejected("{{ 'aaa'|" + f + " }}", SMALL).contains("disabled"), f);
        }
    }

    @Test
    void nestedLoopsStopAtTheLoopBudget() {
        String three = "{% for i in range(N) %}{% for j in range(N) %}{% for k in range(N) %}{% endfor %}"
                + "{% endfor %}{% endfor %}done";
        assertEquals("done", render(three.replace("N", "10"), TemplateLimits.defaults()), "1,110 iterations");
        // 10^9 iterations with empty bodies: no node renders in the innermost loop, the count stops it.
        assertBudget("loops", three.replace("N", "1000"), TemplateLimits.defaults());
        assertBudget("loops", three.replace("N", "1000").replace("{% endfor %}", "x{% endfor %}"), SMALL);
    }

    @Test
    void growingStringsStopAtTheOutputBudget() {
        String doubling = "{% set ns = namespace(s='ab') %}{% for i in range(N) %}{% set ns.s = ns.s OP ns.s %}"
                + "{% endfor %}{{ ns.s|length }}";
        for (String op : List.of("~", "+")) {
            String t = doubling.replace("OP", op);
            assertEquals(String.valueOf(2 << 10), render(t.replace("N", "10"), SMALL));
            assertBudget("output", t.replace("N", "30"), SMALL); // 2 GiB chars unbounded
        }
        String replace = "{% set ns = namespace(s='ab') %}{% for i in range(N) %}{% set ns.s = ns.s.replace('a', 'aa') %}"
                + "{% endfor %}{{ ns.s|length }}";
        assertEquals("1025", render(replace.replace("N", "10"), SMALL));
        assertBudget("output", replace.replace("N", "40"), SMALL);
        assertBudget("output", "{% set s = '----------' %}{{ s.join(range(90000)|map('string')) }}", SMALL);
        assertBudget("output", "{% for i in range(100000) %}0123456789abcdef{% endfor %}", SMALL);
        // As reported (OutOfMemoryError under the old engine): the default budget of 64 Mi chars.
        assertBudget("output", doubling.replace("OP", "~").replace("N", "40"), TemplateLimits.defaults());
    }

    @Test
    void macroRecursionStopsAtTheDepthBudgetAndFanOutAtTheTimeBudget() {
        String deep = "{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{% endif %}x{% endmacro %}{{ m(N) }}";
        assertEquals("x".repeat(11), render(deep.replace("N", "10"), SMALL), "Jinja2 allows recursion");
        assertBudget("depth", deep.replace("N", "1000"), SMALL);
        // 2^40 calls, each within the depth budget: only the clock can stop it.
        String fanOut = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(N) }}";
        TemplateLimits quick = TemplateLimits.parse("time=300ms,depth=64");
        assertEquals("", render(fanOut.replace("N", "4"), quick));
        assertBudget("time", fanOut.replace("N", "40"), quick);
    }

    @Test
    void hugeRangesAndListsStopAtTheListBudget() {
        assertEquals("1000", render("{{ range(1000)|length }}", SMALL));
        assertBudget("list", "{{ range(1000000000)|length }}", TemplateLimits.defaults());
        assertBudget("list", "{% for i in range(10**9) %}{% endfor %}", TemplateLimits.defaults());
        // Past the int range Jinjava's own range read the bound as its limit: refused instead.
        assertTrue(rejected("{{ range(10**12)|length }}", SMALL).contains("integers"));
        assertBudget("list", "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}"
                + "{% endfor %}{{ ns.l|length }}", SMALL);
    }

    @Test
    void filtersSizedByTheirArgumentsAreCheckedBeforeTheyAllocate() {
        Map<String, String> filters = Map.of("'a'|center(N)", "output", "'a\\nb\\nc'|indent(N)", "output",
                "'%Nd'|format(1)", "output", "messages|tojson(indent=N)", "output", "1.5|round(N)", "output",
                "[1, 2]|batch(N)|list", "list", "[1, 2]|slice(N)|list", "list");
        filters.forEach((expr, budget) -> {
            render("{{ " + expr.replace("N", "10") + " }}", SMALL);
            assertBudget(budget, "{{ " + expr.replace("N", "1000000000") + " }}", SMALL);
        });
    }

    @Test
    void deepNestingIsATemplateErrorNotACrash() {
        for (String open : List.of("(", "[")) {
            String close = open.equals("(") ? ")" : "]";
            String expr = "{{ OPEN1CLOSE|string|length }}";
            int fine = TemplatePrepass.MAX_NESTING - 1;
            render(expr.replace("OPEN", open.repeat(fine)).replace("CLOSE", close.repeat(fine)), SMALL);
            // Jinjava's parser needs seconds for 1,000 nested brackets and never ends on 5,000.
            String message = rejected(expr.replace("OPEN", open.repeat(100_000)).replace("CLOSE", close.repeat(100_000)),
                    SMALL);
            assertTrue(message.contains("nests brackets more than 200 deep"), message);
        }
        // Deep tags render on the render thread's own large stack (a task thread's would overflow).
        assertEquals("x", render("{% if true %}".repeat(5000) + "x" + "{% endif %}".repeat(5000), SMALL));
    }

    @Test
    void aRenderStuckInOneStepIsAbandonedAndTheTemplateRefusedAfterThree() {
        TemplateRunner runner = new TemplateRunner("a template whose one step never returns " + System.nanoTime());
        TemplateLimits quick = TemplateLimits.parse("time=100ms");
        for (int i = 0; i < TemplateRunner.MAX_ABANDONED; i++) {
            // One engine call that checks no budget: spins 1 s, far past the 100 ms (+100 ms grace).
            TemplateException e = assertThrows(TemplateBudgetException.class,
                    () -> runner.run(new RenderBudget(quick), () -> spin(Duration.ofSeconds(1))));
            assertTrue(e.getMessage().contains("template limit 'time'"), e.getMessage());
        }
        String refused = assertThrows(TemplateBudgetException.class,
                () -> runner.run(new RenderBudget(quick), () -> "fine")).getMessage();
        assertTrue(refused.contains("refused"), refused);
    }

    private static String spin(Duration d) {
        long end = System.nanoTime() + d.toNanos();
        long n = 0;
        while (System.nanoTime() < end) {
            n++;
        }
        return String.valueOf(n);
    }

    @Test
    void aRejectedRenderIsATemplateErrorRejectAndTheRunGoesOn() {
        ChatTokenizer tokenizer = Stories15M.tokenizer();
        String hostile = "{% for m in messages %}{% if m.content == 'spin' %}{% for i in range(1000) %}"
                + "{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}{% endfor %}{% endif %}"
                + "{{ m.role }}: {{ m.content }}{% if m.role == 'assistant' %}</s>{% endif %}\n{% endfor %}";
        ChatTemplate template = new ChatTemplate(hostile, Map.of(), Clock.systemUTC(), SMALL);
        List<Conversation> in = new ArrayList<>();
        for (String user : List.of("hello", "spin", "bye")) {
            in.add(new Conversation(user, List.of(new Message(Role.USER, user), new Message(Role.ASSISTANT, "ok")),
                    "chats.jsonl", in.size() + 1, Layout.MESSAGES));
        }
        List<Reject> rejects = new ArrayList<>();
        Iterator<TokenizedSample> samples = new TrainingSamples(in.iterator(),
                new SampleEncoder(template, tokenizer, 64, TruncationPolicy.TRUNCATE), rejects::add);
        List<String> ids = new ArrayList<>();
        samples.forEachRemaining(s -> ids.add(s.id()));
        assertEquals(List.of("hello", "bye"), ids, rejects.toString());
        assertEquals(1, rejects.size());
        assertEquals(RejectReason.TEMPLATE_ERROR, rejects.get(0).reason());
        assertTrue(rejects.get(0).message().contains("template limit 'loops'"), rejects.get(0).message());
        tokenizer.close();
    }

    @Test
    void limitsAreReadFromTheOption() {
        TemplateLimits l = TemplateLimits.parse("time=2s, output=1m, list=10k, loops=5k, depth=8");
        assertEquals(new TemplateLimits(Duration.ofSeconds(2), 1 << 20, 10_000, 5_000, 8), l);
        assertEquals(l, TemplateLimits.parse(l.toString()));
        assertEquals(TemplateLimits.defaults(), TemplateLimits.parse(""));
        for (String bad : List.of("time=fast", "output=-1", "speed=3", "loops", "list=9g")) {
            assertThrows(IllegalArgumentException.class, () -> TemplateLimits.parse(bad), bad);
        }
    }
}
