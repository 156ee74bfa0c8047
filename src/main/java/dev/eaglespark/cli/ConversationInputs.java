package dev.eaglespark.cli;

import java.util.Set;

/** A command that reads conversation files given by one or more {@code --input} globs. */
interface ConversationInputs extends Command {
    @Override
    default Set<String> listOptions() {
        return Set.of("input");
    }
}
