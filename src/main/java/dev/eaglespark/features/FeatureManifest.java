package dev.eaglespark.features;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.model.TargetConfig;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The facts of a features run, written next to the Parquet files as {@value #FILE}: which
 * target, tokenizer and template made them, which layers, dtype, sizes and counts. Written and
 * read here only; a training run checks {@link #origin} against its own target. Fields a
 * manifest of an older version lacks are null; fields this version does not know are ignored.
 *
 * @param auxLayerIds transformers' hidden-state indices of the aux states (0 = embeddings)
 * @param rejects rejected records by reason
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record FeatureManifest(String format, Integer formatVersion, String created, Target target, Template template,
                              int[] auxLayerIds, String auxLayerIdsNote, String dtype, String byteOrder,
                              String auxHiddenShape, String lastHiddenShape, Integer maxLength, String truncation,
                              Counts counts, Map<String, Long> rejects) {
    public static final String FILE = "_manifest.json";
    public static final String FORMAT = "eaglespark-features";
    public static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The target that made the features; the hashes are SHA-256 of its files ("absent" for a missing one). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Target(String model, String modelPath, String architecture, String configSha256,
                         String tokenizerSha256, Integer numLayers, Integer hiddenSize, Integer vocabSize) {}

    /**
     * The chat template the conversations were rendered with: the model's own (source
     * {@value FeatureOrigin#MODEL_TEMPLATE}, the hash of its tokenizer_config.json) or a file
     * given to the features stage ({@value FeatureOrigin#OVERRIDE_TEMPLATE}, the hash of its text).
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Template(String source, String sha256) {}

    /** What the run wrote: rows, their tokens and masked tokens, hidden-state bytes, and records rejected. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Counts(long rows, long tokens, long maskedTokens, long featureBytes, long rejected) {}

    /** The manifest of a run of {@code s} over {@code target}, whose model is called {@code modelName}. */
    public static FeatureManifest of(String modelName, TargetFiles target, FeatureSettings s, int[] aux,
                                     Counts counts, Map<String, Long> rejects) throws IOException {
        TargetConfig cfg = target.config();
        FeatureOrigin origin = FeatureOrigin.of(target, s.templateText(), aux);
        return new FeatureManifest(FORMAT, FORMAT_VERSION, Instant.now().toString(),
                new Target(modelName, s.modelDir(), cfg.architecture().hfClass(), origin.configSha256(),
                        origin.tokenizerSha256(), cfg.numLayers(), cfg.hiddenSize(), cfg.vocabSize()),
                new Template(origin.templateSource(), origin.templateSha256()), aux.clone(),
                "transformers hidden_states indices: 0 = embeddings, i = output of layer i-1", "float16",
                "little-endian", "[T, " + aux.length * cfg.hiddenSize() + "]", "[T, " + cfg.hiddenSize() + "]",
                s.maxLength(), s.truncation().name().toLowerCase(Locale.ROOT), counts, rejects);
    }

    /**
     * The manifest of the features under {@code features} (their current version).
     *
     * @throws FileNotFoundException when there is none: not the output of a features run
     */
    public static FeatureManifest read(String features, Configuration conf) throws IOException {
        Path p = new Path(OutputPublisher.current(features, conf), FILE);
        InputStream in;
        try {
            in = p.getFileSystem(conf).open(p);
        } catch (FileNotFoundException e) {
            throw new FileNotFoundException(features + " is not the output of a features run (no " + p + ")");
        }
        try (in) {
            return parse(in, p.toString());
        }
    }

    /** A manifest copied out of its features directory (the quality benchmark keeps such copies). */
    public static FeatureManifest read(java.nio.file.Path file) throws IOException {
        try (InputStream in = java.nio.file.Files.newInputStream(file)) {
            return parse(in, file.toString());
        }
    }

    private static FeatureManifest parse(InputStream in, String where) throws IOException {
        try {
            return JSON.readValue(in, FeatureManifest.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(where + " is not a features manifest: " + e.getOriginalMessage(), e);
        }
    }

    /** Writes the manifest into the features directory {@code dir}. */
    public void write(Path dir, Configuration conf) throws IOException {
        try (OutputStream os = dir.getFileSystem(conf).create(new Path(dir, FILE), true)) {
            os.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this));
        }
    }

    /** What made the features, as a training run checks it (null where this manifest does not say). */
    public FeatureOrigin origin() {
        Target t = target != null ? target : new Target(null, null, null, null, null, null, null, null);
        Template tpl = template != null ? template : new Template(null, null);
        return new FeatureOrigin(t.configSha256(), t.tokenizerSha256(), t.hiddenSize(), t.numLayers(), tpl.source(),
                tpl.sha256(), auxLayerIds == null ? null : auxLayerIds.clone());
    }
}
