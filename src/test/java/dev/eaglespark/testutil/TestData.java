package dev.eaglespark.testutil;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The real conversation samples shipped under src/test/resources/data. */
public final class TestData {
    private TestData() {}

    public static Path path(String name) {
        try {
            return Paths.get(TestData.class.getResource("/data/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource data/" + name, e);
        }
    }
}
