package dev.eaglespark.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites the bits of Python syntax that Jinjava's parser rejects into equivalent Jinjava,
 * before parsing: extended slices ({@code xs[::-1]}, {@code s[1:5:2]}), which Jinjava cannot
 * parse, and {@code namespace(k=expr)} arguments, where Jinjava binds {@code k=a|length}
 * tighter than the {@code - 1} that follows. Plain {@code [a:b]} slices, loop controls and
 * literal kwargs parse natively.
 *
 * <p>Templates come from model directories, so this is a hand-written scanner in linear time:
 * every character is looked at a bounded number of times (a regular expression for the slices
 * backtracked exponentially on {@code [}, spaces, {@code :}, spaces). It reads a
 * {@link CharSequence} so that a test can count the characters it reads.
 */
final class TemplatePrepass {
    private static final String NAMESPACE = "namespace";

    private TemplatePrepass() {}

    /**
     * Brackets nested deeper than this inside a tag are refused: Python's parser stops at 200
     * too, and Jinjava's expression parser slows down super-linearly with the depth (1,000
     * nested parentheses take seconds, 5,000 do not finish).
     */
    static final int MAX_NESTING = 200;

    /** The template rewritten for Jinjava; a {@link TemplateException} if it nests brackets too deeply. */
    static String rewrite(CharSequence template) {
        checkNesting(template);
        return parenthesizeNamespaceArgs(rewriteSlices(template));
    }

    /** Bracket depth inside {@code {{ }}} and {@code {% %}}, string literals skipped; text between tags is free. */
    static void checkNesting(CharSequence s) {
        int depth = 0;
        boolean inTag = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            char next = i + 1 < s.length() ? s.charAt(i + 1) : 0;
            if (!inTag) {
                if (c == '{' && (next == '{' || next == '%')) {
                    inTag = true;
                    depth = 0;
                    i++;
                }
            } else if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                if (++depth > MAX_NESTING) {
                    throw new TemplateException("chat template nests brackets more than " + MAX_NESTING
                            + " deep (at char " + i + ")");
                }
            } else if (c == ')' || c == ']') {
                depth--;
            } else if (c == '}') {
                if (next == '}' && depth <= 0) {
                    inTag = false;
                    i++;
                } else {
                    depth--;
                }
            } else if (c == '%' && next == '}') {
                inTag = false;
                i++;
            }
        }
    }

    /**
     * {@code xs[a:b:c]} becomes {@code xs|py_slice(a, b, c)}: a {@code [}, exactly two colons
     * and a {@code ]} with none of {@code [ ] { }} between. Being a filter, it cannot be followed
     * by a subscript ({@code xs[::-1][0]}); no known chat template does that.
     */
    static String rewriteSlices(CharSequence s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        int copied = 0;
        int i = 0;
        while (i < s.length()) {
            if (s.charAt(i) != '[') {
                i++;
                continue;
            }
            // Up to the next bracket or brace: the part between two '[' is read once, so the
            // whole scan is linear.
            int first = -1;
            int second = -1;
            int colons = 0;
            int j = i + 1;
            char c = 0;
            for (; j < s.length(); j++) {
                c = s.charAt(j);
                if (c == '[' || c == ']' || c == '{' || c == '}') {
                    break;
                }
                if (c == ':') {
                    colons++;
                    if (colons == 1) {
                        first = j;
                    } else if (colons == 2) {
                        second = j;
                    }
                }
            }
            if (j < s.length() && c == ']' && colons == 2) {
                out.append(s, copied, i).append("|py_slice(").append(operand(s, i + 1, first)).append(", ")
                        .append(operand(s, first + 1, second)).append(", ").append(operand(s, second + 1, j))
                        .append(')');
                copied = j + 1;
                i = j + 1;
            } else {
                i = j; // the next '[' (or the end) starts the next candidate
            }
        }
        return out.append(s, copied, s.length()).toString();
    }

    /** The operand between {@code from} and {@code to}, without surrounding whitespace; "none" if empty. */
    private static String operand(CharSequence s, int from, int to) {
        while (from < to && isSpace(s.charAt(from))) {
            from++;
        }
        while (to > from && isSpace(s.charAt(to - 1))) {
            to--;
        }
        return from == to ? "none" : s.subSequence(from, to).toString();
    }

    /** Whitespace as Jinja's lexer sees it around operands. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0B;
    }

    /** {@code namespace(a=x|length - 1)} becomes {@code namespace(a=(x|length - 1))}. */
    static String parenthesizeNamespaceArgs(CharSequence template) {
        String s = template.toString();
        StringBuilder out = new StringBuilder(s.length() + 16);
        int copied = 0;
        int from = 0;
        while (true) {
            int at = s.indexOf(NAMESPACE, from);
            if (at < 0) {
                break;
            }
            from = at + NAMESPACE.length();
            if (at > 0 && isIdentifierPart(s.charAt(at - 1))) {
                continue; // part of a longer name
            }
            int open = from;
            while (open < s.length() && isSpace(s.charAt(open))) {
                open++;
            }
            if (open == s.length() || s.charAt(open) != '(') {
                from = open;
                continue;
            }
            int close = matchingParen(s, open);
            if (close < 0) {
                break;
            }
            out.append(s, copied, open + 1);
            List<String> args = topLevelArgs(s.substring(open + 1, close));
            for (int i = 0; i < args.size(); i++) {
                out.append(i > 0 ? "," : "").append(parenthesizeKeyword(args.get(i)));
            }
            out.append(')');
            copied = close + 1;
            from = close + 1;
        }
        return out.append(s, copied, s.length()).toString();
    }

    /** {@code name=expr} (not {@code name==expr}) becomes {@code name=(expr)}; anything else is kept. */
    private static String parenthesizeKeyword(String arg) {
        int i = 0;
        while (i < arg.length() && isSpace(arg.charAt(i))) {
            i++;
        }
        int nameStart = i;
        if (i == arg.length() || !isIdentifierStart(arg.charAt(i))) {
            return arg;
        }
        while (i < arg.length() && isIdentifierPart(arg.charAt(i))) {
            i++;
        }
        String name = arg.substring(nameStart, i);
        while (i < arg.length() && isSpace(arg.charAt(i))) {
            i++;
        }
        if (i == arg.length() || arg.charAt(i) != '=' || (i + 1 < arg.length() && arg.charAt(i + 1) == '=')) {
            return arg;
        }
        return name + "=(" + arg.substring(i + 1).trim() + ")";
    }

    private static boolean isIdentifierStart(char c) {
        return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }

    private static boolean isIdentifierPart(char c) {
        return isIdentifierStart(c) || (c >= '0' && c <= '9');
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
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (!visitor.visit(i, c)) {
                return;
            }
        }
    }

    /** Index of the quote closing the string literal that opens at {@code open} (the end if none). */
    private static int stringEnd(CharSequence s, int open) {
        char quote = s.charAt(open);
        for (int i = open + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == quote) {
                return i;
            }
        }
        return s.length();
    }
}
