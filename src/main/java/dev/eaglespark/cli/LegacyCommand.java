package dev.eaglespark.cli;

import java.util.Map;
import java.util.Set;

/** A subcommand not yet declared with picocli (converted one by one). */
public interface LegacyCommand {
    String name();

    /** One line for the command list. */
    String summary();

    /** The full help text: usage and every option. */
    String help();

    /** The declared options: name to whether it takes a value (false for a flag). */
    Map<String, Boolean> options();

    /** Repeatable options whose values a config file may list comma-separated. */
    default Set<String> listOptions() {
        return Set.of();
    }

    /**
     * The options that name files or directories, and how they are made absolute before the
     * command runs (the demo model's name, {@link ModelArg#DEMO}, stays as it is).
     */
    default Map<String, PathKind> paths() {
        return Map.of();
    }

    /** Runs the command on its parsed options (the command line and any config file); returns the exit code. */
    int run(Args args) throws Exception;
}
