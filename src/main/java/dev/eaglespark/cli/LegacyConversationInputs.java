package dev.eaglespark.cli;

import java.util.Map;
import java.util.Set;

/**
 * A command that runs the target over conversation files given by one or more {@code --input}
 * globs and writes a directory (features, regenerate).
 */
interface LegacyConversationInputs extends LegacyCommand {
    @Override
    default Map<String, PathKind> paths() {
        return Map.of("model", PathKind.URI, "input", PathKind.URI, "output", PathKind.URI,
                "template", PathKind.LOCAL);
    }

    @Override
    default Set<String> listOptions() {
        return Set.of("input");
    }
}
