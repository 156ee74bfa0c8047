package dev.eaglespark.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Streams the conversations of one JSONL input (plain, .gz or .zst by its name). Bad lines go
 * to the reject sink with their reason and line number; reading goes on. Works from any
 * InputStream, so a Spark task can hand it a Hadoop stream.
 */
public final class ConversationReader implements Iterator<Conversation> {
    /** Lines longer than this are rejected unparsed (64 MiB). */
    public static final int DEFAULT_MAX_LINE_BYTES = 64 << 20;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final JsonlLines lines;
    private final String source;
    private final RejectSink rejects;
    private Conversation next;

    public ConversationReader(InputStream raw, String source, RejectSink rejects, int maxLineBytes) throws IOException {
        this(new JsonlLines(Compression.decompress(raw, source), maxLineBytes), source, rejects);
    }

    private ConversationReader(JsonlLines lines, String source, RejectSink rejects) {
        this.lines = lines;
        this.source = source;
        this.rejects = rejects;
    }

    /**
     * The conversations on lines [firstLine, firstLine + lineCount) of {@code source}, from a
     * stream already decompressed and positioned at the start of {@code firstLine} (one split of
     * a large file; line numbers, and so made-up ids, stay those of the whole file).
     */
    public static ConversationReader ofLines(InputStream decompressed, String source, RejectSink rejects,
                                             int maxLineBytes, long firstLine, long lineCount) {
        return new ConversationReader(new JsonlLines(decompressed, maxLineBytes, firstLine, lineCount), source, rejects);
    }

    public ConversationReader(InputStream raw, String source, RejectSink rejects) throws IOException {
        this(raw, source, rejects, DEFAULT_MAX_LINE_BYTES);
    }

    @Override
    public boolean hasNext() {
        while (next == null && moreLines()) {
            next = parse(lines.next());
        }
        return next != null;
    }

    /** A stream that breaks (a corrupt archive) fails naming the user's file and where. */
    private boolean moreLines() {
        try {
            return lines.hasNext();
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException("input " + source + " cannot be read past line " + lines.lastNumber()
                    + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    @Override
    public Conversation next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Conversation c = next;
        next = null;
        return c;
    }

    /** The conversation on a line, or null after sending the line to the rejects. */
    private Conversation parse(JsonlLines.Line line) {
        String fallbackId = ConversationParser.id(JSON.nullNode(), source, line.number());
        if (line.problem() != null) {
            rejects.reject(new Reject(fallbackId, line.problem(), line.detail(), source, line.number()));
            return null;
        }
        JsonNode root;
        try {
            root = JSON.readTree(line.text());
        } catch (JsonProcessingException e) {
            rejects.reject(new Reject(fallbackId, RejectReason.MALFORMED_JSON, e.getOriginalMessage(), source, line.number()));
            return null;
        }
        try {
            return ConversationParser.parse(root, source, line.number());
        } catch (RejectedException e) {
            String id = root.isObject() ? ConversationParser.id(root, source, line.number()) : fallbackId;
            rejects.reject(new Reject(id, e.reason(), e.getMessage(), source, line.number()));
            return null;
        }
    }
}
