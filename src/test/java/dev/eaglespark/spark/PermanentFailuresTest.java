package dev.eaglespark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.SocketException;
import org.junit.jupiter.api.Test;

/** Which task failures end a stage at once: read from the stack trace as Spark reports it. */
class PermanentFailuresTest {
    private static String printed(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }

    @Test
    void aMissingFileABadModelOrBadNativesAnywhereInTheCausesArePermanent() {
        Exception missing = new UncheckedIOException("rank 1 of 2: reading features",
                new java.io.FileNotFoundException("File file:/x/_manifest.json does not exist"));
        assertEquals("java.io.FileNotFoundException: File file:/x/_manifest.json does not exist",
                PermanentFailures.permanentCause(printed(missing)));
        assertEquals("java.lang.UnsatisfiedLinkError: libtorch_cpu.so: undefined symbol: foo",
                PermanentFailures.permanentCause(printed(new UnsatisfiedLinkError(
                        "libtorch_cpu.so: undefined symbol: foo"))));
        assertEquals("dev.eaglespark.model.ModelLoadException: model directory not found: /m",
                PermanentFailures.permanentCause(printed(new IllegalStateException("task",
                        new dev.eaglespark.model.ModelLoadException("model directory not found: /m")))));
    }

    @Test
    void transientFailuresKeepSparksRetries() {
        // A peer that died mid-training, and the fault injection of the retry tests.
        assertNull(PermanentFailures.permanentCause(printed(new UncheckedIOException("rank 0 of 2: ring",
                new SocketException("Connection reset")))));
        assertNull(PermanentFailures.permanentCause(printed(new IllegalStateException("injected failure"))));
        // A message that merely mentions a permanent class is not one.
        assertNull(PermanentFailures.permanentCause(printed(new IllegalStateException(
                "retry: java.io.FileNotFoundException was seen before"))));
        assertNull(PermanentFailures.permanentCause(null));
    }
}
