package dev.eaglespark.data;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites the bits of Python syntax that Jinjava's parser rejects into equivalent Jinjava,
 * before parsing: extended slices ({@code xs[::-1]}, {@code s[1:5:2]}), which Jinjava cannot
 * parse, and {@code namespace(k=expr)} arguments, where Jinjava binds {@code k=a|length}
 * tighter than the {@code - 1} that follows. Plain {@code [a:b]} slices, loop controls and
 * literal kwargs parse natively.
 */
final class TemplatePrepass {
    // [start:stop:step] with simple operands; the step part is what Jinjava cannot parse.
    private static final Pattern EXTENDED_SLICE =
            Pattern.compile("\\[\\s*([^\\[\\]:{}]*?)\\s*:\\s*([^\\[\\]:{}]*?)\\s*:\\s*([^\\[\\]:{}]*?)\\s*]");

    private TemplatePrepass() {}

    private static final Pattern NAMESPACE_CALL = Pattern.compile("\\bnamespace\\s*\\(");
    private static final Pattern KWARG = Pattern.compile("^\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*=(?!=)(.*)$", Pattern.DOTALL);

    static String rewrite(String template) {
        return parenthesizeNamespaceArgs(rewriteSlices(template));
    }

    /**
     * {@code xs[a:b:c]} becomes {@code xs|py_slice(a, b, c)}. Being a filter, it cannot be followed
     * by a subscript ({@code xs[::-1][0]}); no known chat template does that.
     */
    private static String rewriteSlices(String template) {
        Matcher m = EXTENDED_SLICE.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String call = "|py_slice(" + orNone(m.group(1)) + ", " + orNone(m.group(2)) + ", " + orNone(m.group(3)) + ")";
            m.appendReplacement(out, Matcher.quoteReplacement(call));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** {@code namespace(a=x|length - 1)} becomes {@code namespace(a=(x|length - 1))}. */
    private static String parenthesizeNamespaceArgs(String template) {
        StringBuilder out = new StringBuilder();
        Matcher m = NAMESPACE_CALL.matcher(template);
        int copied = 0;
        while (m.find(copied)) {
            int close = matchingParen(template, m.end() - 1);
            if (close < 0) {
                break;
            }
            out.append(template, copied, m.end());
            List<String> args = topLevelArgs(template.substring(m.end(), close));
            for (int i = 0; i < args.size(); i++) {
                Matcher kw = KWARG.matcher(args.get(i));
                out.append(i > 0 ? "," : "").append(kw.matches() ? kw.group(1) + "=(" + kw.group(2).trim() + ")" : args.get(i));
            }
            out.append(')');
            copied = close + 1;
        }
        return out.append(template.substring(copied)).toString();
    }

    /** Index of the parenthesis closing the one at {@code open}, skipping string literals; -1 if none. */
    private static int matchingParen(String s, int open) {
        int[] depth = {0};
        int[] close = {-1};
        scan(s, open, (i, c) -> {
            if (c == '(' || c == '[' || c == '{') {
                depth[0]++;
            } else if ((c == ')' || c == ']' || c == '}') && --depth[0] == 0) {
                close[0] = c == ')' ? i : -1;
                return false;
            }
            return true;
        });
        return close[0];
    }

    /** The comma-separated arguments at nesting depth 0. */
    private static List<String> topLevelArgs(String inside) {
        List<String> args = new ArrayList<>();
        int[] depth = {0};
        int[] start = {0};
        scan(inside, 0, (i, c) -> {
            if (c == '(' || c == '[' || c == '{') {
                depth[0]++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth[0]--;
            } else if (c == ',' && depth[0] == 0) {
                args.add(inside.substring(start[0], i));
                start[0] = i + 1;
            }
            return true;
        });
        if (!inside.isBlank()) {
            args.add(inside.substring(start[0]));
        }
        return args;
    }

    /** Visitor of the chars outside string literals; returns false to stop. */
    private interface CharVisitor {
        boolean visit(int index, char c);
    }

    private static void scan(String s, int from, CharVisitor visitor) {
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (!visitor.visit(i, c)) {
                return;
            }
        }
    }

    private static String orNone(String operand) {
        return operand.isBlank() ? "none" : operand;
    }
}
