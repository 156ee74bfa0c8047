package dev.eaglespark.testutil;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Test data shipped under src/test/resources (copies of the shared reference fixtures). */
public final class Fixtures {
    private Fixtures() {}

    public static Path path(String relative) {
        return resource("/fixtures/" + relative);
    }

    /** Any test resource as a file path (Maven puts them in target/test-classes). */
    static Path resource(String absolute) {
        URL url = Fixtures.class.getResource(absolute);
        if (url == null) {
            throw new IllegalStateException("missing test resource " + absolute);
        }
        try {
            return Paths.get(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
