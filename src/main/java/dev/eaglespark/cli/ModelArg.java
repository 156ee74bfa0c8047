package dev.eaglespark.cli;

import dev.eaglespark.demo.Stories15M;
import java.io.IOException;

/**
 * A --model or --target value: a directory or URI as given, or 'stories15M' for the demo model
 * (fetched once). Its path converters ({@link PathKind.LocalModel}, {@link PathKind.UriModel})
 * leave the demo's name as it is.
 */
final class ModelArg {
    static final String DEMO = "stories15M";

    private ModelArg() {}

    static String resolve(String spec) throws IOException {
        return spec.equals(DEMO) ? Stories15M.ensure().toString() : spec;
    }
}
