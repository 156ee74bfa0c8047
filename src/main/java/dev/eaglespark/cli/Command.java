package dev.eaglespark.cli;

import picocli.CommandLine.Model.CommandSpec;

/**
 * One subcommand of the eaglespark CLI: a class annotated with picocli's {@code @Command} (its
 * name, its one-line summary as the header, its usage lines as the custom synopsis, what it does
 * as the description) whose {@code @Option} fields are its options, each declared once with its
 * help text, type, default and, for numbers, its {@link Range}. {@link OptionParser} sets the
 * fields from the command line and any config file; {@link HelpText} writes --help from the same
 * declarations.
 */
public interface Command {
    /** Runs the command on its options; returns the exit code. */
    int run() throws Exception;

    /** The declarations picocli reads from this object's annotations, bound to its fields. */
    default CommandSpec spec() {
        return CommandSpec.forAnnotatedObject(this);
    }
}
