package dev.eaglespark.testutil;

import java.nio.file.Path;

/** The real conversation samples shipped under src/test/resources/data. */
public final class TestData {
    private TestData() {}

    public static Path path(String name) {
        return Fixtures.resource("/data/" + name);
    }
}
