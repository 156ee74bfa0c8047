package dev.eaglespark.cli;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The single entry point: {@code eaglespark <command> [options]}, one command per stage or tool. */
public final class Main {
    private static final List<Command> COMMANDS = List.of(new PromptsCommand(), new RegenerateCommand(),
            new FeaturesCommand(), new VocabCommand(), new DumpCommand(), new TrainCommand(), new ExportCommand(),
            new TrainStepCommand(), new EvaluateCommand(), new PrecisionCommand(), new BenchCommand());

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String[] args) {
        Map<String, Command> byName = new LinkedHashMap<>();
        COMMANDS.forEach(c -> byName.put(c.name(), c));
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            System.out.println(overview(byName));
            return args.length == 0 ? 2 : 0;
        }
        Command cmd = byName.get(args[0]);
        if (cmd == null) {
            System.err.println("eaglespark: unknown command '" + args[0] + "'\n\n" + overview(byName));
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            System.out.println(help(cmd));
            return 0;
        }
        try {
            return cmd.run(ConfigFile.apply(rest, cmd, COMMANDS));
        } catch (UsageException e) {
            System.err.println("eaglespark " + cmd.name() + ": " + e.getMessage() + "\n\n" + help(cmd));
            return 2;
        } catch (Exception e) {
            System.err.println("eaglespark " + cmd.name() + " failed: " + e.getMessage());
            e.printStackTrace(System.err);
            return 1;
        }
    }

    static List<Command> commands() {
        return COMMANDS;
    }

    /** A command's own help plus the option every command has. */
    static String help(Command cmd) {
        return cmd.help() + ConfigFile.HELP;
    }

    private static String overview(Map<String, Command> byName) {
        StringBuilder sb = new StringBuilder("usage: eaglespark <command> [options]   (eaglespark <command> --help)\n\ncommands:\n");
        byName.values().forEach(c -> sb.append(String.format("  %-12s %s%n", c.name(), c.summary())));
        return sb.toString();
    }
}
