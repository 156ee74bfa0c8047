package dev.eaglespark.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A command's {@code --help}, from its declarations: the usage lines (picocli's custom
 * synopsis), what it does (the description), then every option with its parameter label and
 * help text (each line of it as written, {@code ${DEFAULT-VALUE}} replaced by the declared
 * default), aligned in one column.
 */
final class HelpText {
    private HelpText() {}

    static String of(CommandSpec spec) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.join("\n", spec.usageMessage().customSynopsis()).stripTrailing()).append("\n\n");
        sb.append(String.join("\n", spec.usageMessage().description()).stripTrailing()).append("\n\noptions:\n");
        List<String> heads = new ArrayList<>();
        for (OptionSpec o : spec.options()) {
            heads.add(o.longestName() + (o.arity().max() == 0 ? "" : " " + o.paramLabel()));
        }
        int column = 2 + heads.stream().mapToInt(String::length).max().orElse(0) + 2;
        for (int i = 0; i < heads.size(); i++) {
            String pad = "  " + heads.get(i);
            for (String line : String.join("\n", spec.options().get(i).description()).strip().split("\n")) {
                sb.append(pad).append(" ".repeat(column - pad.length())).append(line.stripTrailing()).append('\n');
                pad = "";
            }
        }
        return sb.toString();
    }
}
