package dev.eaglespark.cli;

import java.lang.reflect.AnnotatedElement;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Sets a command's options from its command line and any {@code --config} file, with picocli
 * read the way eaglespark's command line has always been: {@code --name value} or
 * {@code --name=value}; a single-value option given twice keeps the last value; a value may
 * start with a dash ({@code --lr -1}, which {@link Range} then refuses). The file's values for
 * the options the command line does not give go before the command line's arguments, so one
 * parse converts and checks both. Every mistake is a {@link UsageException} (exit 2) naming the
 * option, and for a file's value the file, line and key, before the command runs.
 */
final class OptionParser {
    private OptionParser() {}

    /**
     * A new command of {@code factory} with its options set from {@code argv}.
     *
     * @param all the declarations of every command, against which a config file's keys are checked
     */
    static Command parse(String[] argv, Supplier<? extends Command> factory, List<CommandSpec> all) {
        CommandLineOnly cli = CommandLineOnly.of(argv, factory.get().spec());
        Command cmd = factory.get();
        CommandLine cl = commandLine(cmd.spec());
        ConfigFile file = cli.config() == null ? null : ConfigFile.read(cli.config());
        List<String> args = new ArrayList<>();
        if (file != null) {
            args.addAll(file.args(cl.getCommandSpec(), all, cli.given()));
        }
        args.addAll(List.of(argv));
        try {
            cl.parseArgs(args.toArray(String[]::new));
        } catch (ParameterException e) {
            throw usageError(e, where(e.getArgSpec(), cl.getCommandSpec(), all, cli.given(), file));
        }
        for (OptionSpec o : cl.getCommandSpec().options()) {
            String error = outOfRange(o);
            if (error != null) {
                String origin = where(o, cl.getCommandSpec(), all, cli.given(), file);
                throw new UsageException((origin == null ? "" : origin + ": ") + error);
            }
        }
        return cmd;
    }

    /** picocli over {@code spec}, set up as described above, with the --config option every command has. */
    static CommandLine commandLine(CommandSpec spec) {
        if (!spec.optionsMap().containsKey(ConfigFile.OPTION)) {
            spec.addOption(OptionSpec.builder(ConfigFile.OPTION).paramLabel("FILE").type(String.class)
                    .description(ConfigFile.HELP).build());
        }
        CommandLine cl = new CommandLine(spec);
        cl.setOverwrittenOptionsAllowed(true);
        cl.setAllowOptionsAsOptionParameters(true);
        cl.setUnmatchedOptionsAllowedAsOptionParameters(true);
        ValueTypes.register(cl);
        return cl;
    }

    /**
     * Whether the command line or the config file gave {@code option} (as opposed to its default),
     * for a command's checks of options that only go with others.
     */
    static boolean given(CommandSpec spec, String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /** The file, line and key that set the option of an error, when the file (not the command line) set it. */
    private static String where(ArgSpec arg, CommandSpec cmd, List<CommandSpec> all, Set<String> given,
                                ConfigFile file) {
        if (file == null || !(arg instanceof OptionSpec o)) {
            return null;
        }
        String name = o.longestName().substring(2);
        return given.contains(name) ? null : file.origin(cmd, all, name);
    }

    private static UsageException usageError(ParameterException e, String origin) {
        String message;
        if (e instanceof UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().get(0);
            message = arg.startsWith("--") ? "unknown option " + arg.split("=", 2)[0]
                    : "unexpected argument '" + arg + "'";
        } else if (e instanceof MissingParameterException m && e.getMessage().startsWith("Missing required option")) {
            message = "missing required option" + (m.getMissing().size() > 1 ? "s " : " ") + m.getMissing().stream()
                    .map(a -> ((OptionSpec) a).longestName()).collect(Collectors.joining(", "));
        } else if (e instanceof MissingParameterException m) {
            message = "option " + ((OptionSpec) m.getMissing().get(0)).longestName() + " needs a value";
        } else if (e.getArgSpec() instanceof OptionSpec o) {
            message = "option " + o.longestName() + ": "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
        } else {
            message = e.getMessage();
        }
        return new UsageException(origin == null ? message : origin + ": " + message);
    }

    /** Why the option's value is outside its {@link Range}, or null. */
    private static String outOfRange(OptionSpec o) {
        Range r = o.userObject() instanceof AnnotatedElement e ? e.getAnnotation(Range.class) : null;
        if (r == null || o.getValue() == null) {
            return null;
        }
        boolean ok = numbers(o.getValue()).allMatch(x -> x >= r.min() && x > r.above() && x <= r.max());
        return ok ? null : "option " + o.longestName() + ": must be " + describe(r) + ", got '"
                + String.join(" ", o.originalStringValues()) + "'";
    }

    private static Stream<Double> numbers(Object value) {
        if (value instanceof Number n) {
            return Stream.of(n.doubleValue());
        }
        if (value instanceof Collection<?> c) {
            return c.stream().flatMap(OptionParser::numbers);
        }
        throw new IllegalStateException("@Range on a value of " + value.getClass());
    }

    /** "at least 1", "above 0", "in [0, 1]", "in (0, 1]". */
    static String describe(Range r) {
        boolean open = r.above() > Double.NEGATIVE_INFINITY;
        double low = open ? r.above() : r.min();
        if (r.max() == Double.POSITIVE_INFINITY) {
            return (open ? "above " : "at least ") + number(low);
        }
        if (low == Double.NEGATIVE_INFINITY) {
            return "at most " + number(r.max());
        }
        return "in " + (open ? "(" : "[") + number(low) + ", " + number(r.max()) + "]";
    }

    private static String number(double x) {
        return BigDecimal.valueOf(x).stripTrailingZeros().toPlainString();
    }

    /**
     * The command line alone, parsed with every option optional (a config file may give the
     * required ones): which options it gives, and the config file it names.
     */
    private record CommandLineOnly(Set<String> given, String config) {
        static CommandLineOnly of(String[] argv, CommandSpec spec) {
            CommandSpec optional = CommandSpec.create();
            spec.options().forEach(o -> optional.addOption(o.toBuilder().required(false).build()));
            CommandLine cl = commandLine(optional);
            try {
                cl.parseArgs(argv);
            } catch (ParameterException e) {
                throw usageError(e, null);
            }
            Set<String> given = cl.getParseResult().matchedOptions().stream()
                    .map(o -> o.longestName().substring(2)).collect(Collectors.toSet());
            return new CommandLineOnly(given, cl.getParseResult().matchedOptionValue(ConfigFile.OPTION, null));
        }
    }
}
