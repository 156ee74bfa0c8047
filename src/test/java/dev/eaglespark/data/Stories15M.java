package dev.eaglespark.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;

/** The bundled stories15M tokenizer (Llama 2 vocabulary, no chat template). */
final class Stories15M {
    private Stories15M() {}

    static ChatTokenizer tokenizer() {
        try (InputStream in = Stories15M.class.getResourceAsStream("/dev/eaglespark/stories15M/tokenizer.json")) {
            return ChatTokenizer.read(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ChatTemplate defaultTemplate() {
        try (InputStream in = Stories15M.class.getResourceAsStream("/dev/eaglespark/stories15M/tokenizer_config.json")) {
            return ChatTemplate.forModel(TokenizerConfig.read(in), null, Clock.systemUTC());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
