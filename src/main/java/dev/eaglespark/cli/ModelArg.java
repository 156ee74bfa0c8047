package dev.eaglespark.cli;

import dev.eaglespark.model.Stories15M;
import java.io.IOException;

/** A --model value: a directory or URI as given, or 'stories15M' for the demo model (fetched once). */
final class ModelArg {
    static final String DEMO = "stories15M";
    /** The options that name a target model, and so may name the demo. */
    private static final java.util.Set<String> OPTIONS = java.util.Set.of("model", "target");

    private ModelArg() {}

    static boolean isDemo(String option, String value) {
        return OPTIONS.contains(option) && value.equals(DEMO);
    }

    static String resolve(String spec) throws IOException {
        return spec.equals(DEMO) ? Stories15M.ensure().toString() : spec;
    }
}
