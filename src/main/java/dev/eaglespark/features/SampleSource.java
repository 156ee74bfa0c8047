package dev.eaglespark.features;

import dev.eaglespark.data.ChatTemplate;
import dev.eaglespark.data.ChatTokenizer;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.RejectSink;
import dev.eaglespark.data.SampleEncoder;
import dev.eaglespark.data.TemplateLimits;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.data.TokenizerConfig;
import dev.eaglespark.data.TrainingSamples;
import dev.eaglespark.data.TruncationPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Iterator;

/**
 * A model directory's tokenizer and chat template turned into training samples: conversations
 * of one input split in, tokenized samples with assistant-only masks out, rejects to the sink.
 */
public final class SampleSource implements AutoCloseable {
    private final ChatTokenizer tokenizer;
    private final SampleEncoder encoder;

    public SampleSource(Path modelDir, FeatureSettings s) throws IOException {
        this(modelDir, s.templateText(), s.maxLength(), s.truncation(), s.templateLimits());
    }

    public SampleSource(Path modelDir, String templateText, int maxLength, TruncationPolicy truncation)
            throws IOException {
        this(modelDir, templateText, maxLength, truncation, TemplateLimits.defaults());
    }

    public SampleSource(Path modelDir, String templateText, int maxLength, TruncationPolicy truncation,
                        TemplateLimits templateLimits) throws IOException {
        Path tokenizerJson = modelDir.resolve("tokenizer.json");
        Path configJson = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IOException("model directory " + modelDir + " has no tokenizer.json");
        }
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            tokenizer = ChatTokenizer.read(in);
        }
        TokenizerConfig config;
        try (InputStream in = Files.isRegularFile(configJson) ? Files.newInputStream(configJson)
                : new java.io.ByteArrayInputStream("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
            config = TokenizerConfig.read(in);
        }
        ChatTemplate template = ChatTemplate.forModel(config, templateText, Clock.systemUTC(), templateLimits);
        encoder = new SampleEncoder(template, tokenizer, maxLength, truncation);
    }

    public ChatTokenizer tokenizer() {
        return tokenizer;
    }

    public SampleEncoder encoder() {
        return encoder;
    }

    /** The conversations of one split, read lazily from a stream positioned at its first line. */
    public static ConversationReader conversations(InputStream decompressed, InputSplit split, RejectSink rejects) {
        return ConversationReader.ofLines(decompressed, split.path(), rejects,
                ConversationReader.DEFAULT_MAX_LINE_BYTES, split.firstLine(), split.lineCount());
    }

    /** The samples of one split, read lazily from a stream positioned at its first line. */
    public Iterator<TokenizedSample> samples(InputStream decompressed, InputSplit split, RejectSink rejects) {
        return new TrainingSamples(conversations(decompressed, split, rejects), encoder, rejects);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
