package dev.eaglespark.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;

/** Writes rejects as JSON lines: {@code {"id", "reason", "message", "source", "line"}}. */
public final class JsonlRejectWriter implements RejectSink, Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Writer out;

    public JsonlRejectWriter(Writer out) {
        this.out = out;
    }

    @Override
    public synchronized void reject(Reject r) {
        ObjectNode node = JSON.createObjectNode();
        node.put("id", r.id());
        node.put("reason", r.reason().code());
        node.put("message", r.message());
        node.put("source", r.source());
        node.put("line", r.line());
        try {
            out.write(JSON.writeValueAsString(node));
            out.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
