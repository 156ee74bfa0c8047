package dev.eaglespark.features;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.io.Digests;
import dev.eaglespark.model.TargetConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The small files of a target model directory that say what features it makes (config.json,
 * tokenizer.json, tokenizer_config.json with the chat template), read wherever the model
 * lives, and their hashes as a {@link FeatureManifest} records them.
 */
public final class TargetFiles {
    private static final String CONFIG = "config.json";
    private static final String TOKENIZER = "tokenizer.json";
    private static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    /** A hash of a file the model directory does not have. */
    private static final String ABSENT = "absent";

    private final String dir;
    private final Map<String, byte[]> files;

    private TargetFiles(String dir, Map<String, byte[]> files) {
        this.dir = dir;
        this.files = files;
    }

    /** The files of the model directory {@code dir} (any Hadoop URI); config.json must exist. */
    public static TargetFiles read(String dir, Configuration conf) throws IOException {
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(conf);
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String name : new String[] {CONFIG, TOKENIZER, TOKENIZER_CONFIG}) {
            Path p = new Path(root, name);
            if (fs.exists(p)) {
                try (InputStream in = fs.open(p)) {
                    out.put(name, in.readAllBytes());
                }
            }
        }
        if (!out.containsKey(CONFIG)) {
            throw new IOException("target model " + dir + " has no " + CONFIG);
        }
        return new TargetFiles(dir, out);
    }

    /** Where the files were read. */
    public String dir() {
        return dir;
    }

    public TargetConfig config() throws IOException {
        return TargetConfig.parse(new ObjectMapper().readTree(files.get(CONFIG)), dir + "/" + CONFIG);
    }

    public String configSha256() throws IOException {
        return sha256(files.get(CONFIG));
    }

    public String tokenizerSha256() throws IOException {
        return sha256(files.get(TOKENIZER));
    }

    /**
     * The chat template's hash: of {@code overrideText} when features were rendered with a
     * template file, else of tokenizer_config.json, where the model's own template lives.
     */
    public String templateSha256(String overrideText) throws IOException {
        return sha256(overrideText != null ? overrideText.getBytes(StandardCharsets.UTF_8)
                : files.get(TOKENIZER_CONFIG));
    }

    private static String sha256(byte[] bytes) throws IOException {
        return bytes == null ? ABSENT : Digests.of(new ByteArrayInputStream(bytes), Long.MAX_VALUE, "SHA-256");
    }
}
