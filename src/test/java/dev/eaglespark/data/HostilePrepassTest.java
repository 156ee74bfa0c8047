package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The template prepass reads adversarial templates in linear time: the characters it reads are
 * counted (no clock) for inputs growing 10x at a time, and stay under a fixed multiple of the
 * input. The slice regular expression it replaces took 0.2 s on 50 spaces, 5 s on 100 and over a
 * minute on 200. Well under a second in all.
 */
class HostilePrepassTest {
    /** A template that counts the characters read from it. */
    private static final class Counting implements CharSequence {
        private final String s;
        long reads;

        Counting(String s) {
            this.s = s;
        }

        @Override
        public int length() {
            return s.length();
        }

        @Override
        public char charAt(int index) {
            reads++;
            return s.charAt(index);
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            reads += end - start;
            return s.substring(start, end);
        }

        @Override
        public String toString() {
            reads += s.length();
            return s;
        }
    }

    private static final Map<String, IntFunction<String>> ADVERSARIAL = Map.of(
            "the reported hang: [, spaces, :, spaces", n -> "{{ x[" + " ".repeat(n) + ":" + " ".repeat(n) + " }}",
            "two colons and no closing bracket", n -> "{{ x[" + " ".repeat(n) + ":" + " ".repeat(n) + ":" + " ".repeat(n),
            "many colons", n -> "{{ x[" + ": ".repeat(n) + "] }}",
            "many opening brackets", n -> "{{ x" + "[ :".repeat(n) + " }}",
            "unclosed namespace calls", n -> "{% set ns = " + "namespace(".repeat(n),
            "namespace then spaces", n -> ("namespace" + " ".repeat(n)).repeat(3),
            "long keyword arguments", n -> "{% set ns = namespace(" + "a".repeat(n) + " = " + "b".repeat(n) + ") %}");

    @Test
    void readsEveryAdversarialInputInLinearTime() {
        ADVERSARIAL.forEach((name, make) -> {
            for (int n = 100; n <= 1_000_000; n *= 10) {
                Counting t = new Counting(make.apply(n));
                TemplatePrepass.rewriteSlices(t);
                TemplatePrepass.parenthesizeNamespaceArgs(t);
                try {
                    TemplatePrepass.checkNesting(t);
                } catch (TemplateException tooDeep) {
                    assertTrue(tooDeep.getMessage().contains("nests brackets"), tooDeep.getMessage());
                }
                // Each pass reads each character a bounded number of times (here at most 4).
                assertTrue(t.reads <= 12L * t.length() + 100, name + " n=" + n + ": " + t.reads + " reads of "
                        + t.length() + " chars");
            }
        });
    }

    @Test
    void theReportedTemplateRendersAsText() {
        String t = "[" + " ".repeat(300) + ":" + " ".repeat(300);
        assertEquals(t, new ChatTemplate(t, Map.of(), Clock.systemUTC())
                .render(List.of(new Message(Role.USER, "hi"), new Message(Role.ASSISTANT, "yo")), false));
    }

    @Test
    void slicesAndNamespacesAreStillRewritten() {
        assertEquals("{{ xs|py_slice(none, none, -1) }}", TemplatePrepass.rewrite("{{ xs[::-1] }}"));
        assertEquals("{{ s|py_slice(1, n + 1, 2) }}", TemplatePrepass.rewrite("{{ s[ 1 :\tn + 1: 2 ] }}"));
        assertEquals("{{ s[1:2] }} {{ d[{'a': 1}] }}", TemplatePrepass.rewrite("{{ s[1:2] }} {{ d[{'a': 1}] }}"));
        assertEquals("{% set ns = namespace(a=(x|length - 1),b=(2)) %}",
                TemplatePrepass.rewrite("{% set ns = namespace(a=x|length - 1, b=2) %}"));
        assertEquals("{{ mynamespace(a=1) }} {{ namespace(a==b) }}",
                TemplatePrepass.rewrite("{{ mynamespace(a=1) }} {{ namespace(a==b) }}"));
    }
}
