package dev.eaglespark.spark;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** The small files of a model directory, read on the driver wherever the model lives. */
final class ModelFiles {
    static final String[] NAMES = {"config.json", "tokenizer.json", "tokenizer_config.json"};

    private ModelFiles() {}

    static Map<String, byte[]> read(String modelDir, Configuration conf) throws IOException {
        Path dir = new Path(ShippedModels.resolve(modelDir));
        FileSystem fs = dir.getFileSystem(conf);
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String name : NAMES) {
            Path p = new Path(dir, name);
            if (fs.exists(p)) {
                try (InputStream in = fs.open(p)) {
                    out.put(name, in.readAllBytes());
                }
            }
        }
        if (!out.containsKey("config.json")) {
            throw new IOException("target model " + modelDir + " has no config.json");
        }
        return out;
    }
}
