package dev.eaglespark.cli;

/** One subcommand of the eaglespark CLI. */
public interface Command {
    String name();

    /** One line for the command list. */
    String summary();

    /** The full help text: usage and every option. */
    String help();

    /** Runs the command; returns the process exit code. */
    int run(String[] args) throws Exception;
}
