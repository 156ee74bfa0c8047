package dev.eaglespark.cli;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;

/** The single entry point: {@code eaglespark <command> [options]}, one command per stage or tool. */
public final class Main {
    private static final List<Supplier<Command>> COMMANDS = List.of(PromptsCommand::new, RegenerateCommand::new,
            FeaturesCommand::new, VocabCommand::new, DumpCommand::new, TrainCommand::new, ExportCommand::new,
            TrainStepCommand::new, EvaluateCommand::new, PrecisionCommand::new, BenchCommand::new);

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String[] args) {
        Map<String, Supplier<Command>> byName = new LinkedHashMap<>();
        COMMANDS.forEach(c -> byName.put(c.get().spec().name(), c));
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            System.out.println(overview());
            return args.length == 0 ? 2 : 0;
        }
        Supplier<Command> factory = byName.get(args[0]);
        if (factory == null) {
            System.err.println("eaglespark: unknown command '" + args[0] + "'\n\n" + overview());
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            System.out.println(help(factory.get()));
            return 0;
        }
        try {
            return OptionParser.parse(rest, factory, commands()).run();
        } catch (UsageException e) {
            System.err.println("eaglespark " + args[0] + ": " + e.getMessage() + "\n\n" + help(factory.get()));
            return 2;
        } catch (Exception e) {
            System.err.println("eaglespark " + args[0] + " failed: " + e.getMessage());
            e.printStackTrace(System.err);
            return 1;
        }
    }

    /** Every command's declarations (each bound to a command object of its own). */
    static List<CommandSpec> commands() {
        return COMMANDS.stream().map(c -> c.get().spec()).toList();
    }

    /** A command's help, with the option every command has. */
    static String help(Command cmd) {
        return HelpText.of(OptionParser.commandLine(cmd.spec()).getCommandSpec());
    }

    private static String overview() {
        StringBuilder sb = new StringBuilder("usage: eaglespark <command> [options]   (eaglespark <command> --help)\n\ncommands:\n");
        commands().forEach(c -> sb.append(String.format("  %-12s %s%n", c.name(), c.usageMessage().header()[0])));
        return sb.toString();
    }
}
