package dev.eaglespark.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** A {@link LegacyCommand} as a {@link Command}: its options map as picocli declarations, every value option repeatable. */
final class LegacyAdapter implements Command {
    private final LegacyCommand cmd;
    private final CommandSpec spec;

    LegacyAdapter(LegacyCommand cmd) {
        this.cmd = cmd;
        this.spec = CommandSpec.create().name(cmd.name());
        spec.usageMessage().header(cmd.summary());
        cmd.options().forEach((name, takesValue) -> {
            OptionSpec.Builder b = OptionSpec.builder("--" + name);
            if (takesValue) {
                b.paramLabel("V").type(List.class).auxiliaryTypes(String.class).arity("1");
                PathKind kind = cmd.paths().get(name);
                boolean model = name.equals("model") || name.equals("target");
                if (kind != null) {
                    b.converters(kind == PathKind.URI ? (model ? new PathKind.UriModel() : new PathKind.UriPath())
                            : (model ? new PathKind.LocalModel() : new PathKind.LocalPath()));
                }
            } else {
                b.arity("0").type(boolean.class);
            }
            spec.addOption(b.build());
        });
    }

    @Override
    public CommandSpec spec() {
        return spec;
    }

    String help() {
        return cmd.help();
    }

    @Override
    @SuppressWarnings("unchecked")
    public int run() throws Exception {
        Map<String, List<String>> values = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            Object v = o.getValue();
            String name = o.longestName().substring(2);
            if (v instanceof List<?> l && !l.isEmpty()) {
                values.put(name, (List<String>) l);
            } else if (Boolean.TRUE.equals(v)) {
                values.put(name, List.of("true"));
            }
        }
        return cmd.run(new Args(values));
    }
}
