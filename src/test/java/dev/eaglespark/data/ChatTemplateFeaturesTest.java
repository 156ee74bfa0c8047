package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Jinja2 behaviours chat templates depend on, one by one. */
class ChatTemplateFeaturesTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T09:00:00Z"), ZoneOffset.UTC);
    private static final List<Message> CHAT = List.of(new Message(Role.USER, "  {{ 7*7 }} {% if true %}x{% endif %} "),
            new Message(Role.ASSISTANT, "a</think>"));

    private static String render(String template) {
        return new ChatTemplate(template, Map.of("bos_token", "<s>"), CLOCK).render(CHAT, false);
    }

    @Test
    void contentIsNeverInterpretedAsTemplate() {
        assertEquals("  {{ 7*7 }} {% if true %}x{% endif %} ", render("{{ messages[0].content }}"));
    }

    @Test
    void pythonStringMethods() {
        assertEquals("yes", render("{% if messages[0].content.startswith('  {{') %}yes{% endif %}"));
        assertEquals("no", render("{% if messages[1].content.endswith('x') %}yes{% else %}no{% endif %}"));
        assertEquals("{{ 7*7 }} {% if true %}x{% endif %}", render("{{ messages[0].content.strip() }}"));
        assertEquals("a", render("{{ messages[1].content.rstrip('</think>') }}"));
        assertEquals("2", render("{{ messages[1].content.split('</think>') | length }}"));
        assertEquals("", render("{{ messages[1].content.split('</think>')[-1] }}"), "Python keeps trailing empty parts");
        assertEquals("a.b", render("{{ 'a.b'.split('.') | join('.') }}"), "a literal separator, not a regex");
    }

    @Test
    void extendedSlicesNamespaceAndLoopControls() {
        assertEquals("assistant,user,", render("{% for m in messages[::-1] %}{{ m.role }},{% endfor %}"));
        assertEquals("1", render("{% set ns = namespace(n=messages|length - 1) %}{{ ns.n }}"));
        assertEquals("2", render("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}"));
        assertEquals("user", render("{% for m in messages %}{% if loop.index0 > 0 %}{% break %}{% endif %}{{ m.role }}{% endfor %}"));
        assertEquals("ca", render("{{ 'abc'[::-2] }}"));
    }

    @Test
    void whitespaceControlAndTrimLstripBlocks() {
        // Expected values from Python Jinja2 with trim_blocks and lstrip_blocks.
        assertEquals("<s>A\n\nB", render("{{- bos_token }}\n  {%- if true %}\nA\n{% endif %}\n  {{- '\\n' }}B"));
        assertEquals("x\n", render("  {% if true %}\nx\n  {% endif %}\n"));
    }

    @Test
    void tojsonMatchesPythonJsonDumps() {
        assertEquals("{\"a\": [1, 2.5, \"é\\n\"], \"b\": null}", render("{{ {'a': [1, 2.5, 'é\\n'], 'b': none} | tojson }}"));
        assertEquals("{\n    \"a\": true\n}", render("{{ {'a': true} | tojson(indent=4) }}"));
    }

    @Test
    void strftimeNowUsesTheInjectedClockAndRaiseExceptionFails() {
        assertEquals("22 Nov 2026 09:00", render("{{ strftime_now('%d %b %Y %H:%M') }}"));
        TemplateException e = assertThrows(TemplateException.class, () -> render("{{ raise_exception('no tools here') }}"));
        assertTrue(e.getMessage().contains("no tools here"), e.getMessage());
    }
}
