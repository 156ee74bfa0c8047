package dev.eaglespark.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.TensorInfo;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors weights of a Hugging Face model directory: {@code model.safetensors}, or the
 * shards listed by {@code model.safetensors.index.json}. Pickled {@code .bin} files are never
 * loaded (they can run arbitrary code).
 */
public final class CheckpointFiles implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Map<String, SafeTensorsFile> byTensor;
    private final Map<Path, SafeTensorsFile> files;

    private CheckpointFiles(Path dir, Map<String, SafeTensorsFile> byTensor, Map<Path, SafeTensorsFile> files) {
        this.dir = dir;
        this.byTensor = byTensor;
        this.files = files;
    }

    public static CheckpointFiles open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("model directory not found: " + dir);
        }
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        Map<Path, SafeTensorsFile> files = new LinkedHashMap<>();
        Map<String, SafeTensorsFile> byTensor = new HashMap<>();
        try {
            if (Files.isRegularFile(index)) {
                JsonNode map = readIndex(index);
                for (var it = map.fields(); it.hasNext(); ) {
                    var e = it.next();
                    Path shard = dir.resolve(e.getValue().asText()).normalize();
                    if (!shard.startsWith(dir.normalize())) {
                        throw new ModelLoadException(index + ": shard path escapes the model directory: " + shard);
                    }
                    SafeTensorsFile f = files.computeIfAbsent(shard, SafeTensorsFile::open);
                    if (!f.contains(e.getKey())) {
                        throw new ModelLoadException(index + " maps " + e.getKey() + " to " + shard.getFileName()
                                + ", which does not hold it");
                    }
                    byTensor.put(e.getKey(), f);
                }
            } else if (Files.isRegularFile(single)) {
                SafeTensorsFile f = SafeTensorsFile.open(single);
                files.put(single, f);
                f.tensors().keySet().forEach(n -> byTensor.put(n, f));
            } else {
                throw new ModelLoadException(dir + " has neither model.safetensors nor model.safetensors.index.json"
                        + (hasPickle(dir) ? " (pickled .bin weights are not loaded: convert them to safetensors)" : ""));
            }
        } catch (RuntimeException e) {
            files.values().forEach(SafeTensorsFile::close);
            throw e;
        }
        return new CheckpointFiles(dir, byTensor, files);
    }

    private static JsonNode readIndex(Path index) {
        try {
            JsonNode map = JSON.readTree(Files.readString(index)).get("weight_map");
            if (map == null || !map.isObject()) {
                throw new ModelLoadException(index + ": no weight_map object");
            }
            return map;
        } catch (IOException e) {
            throw new ModelLoadException(index + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static boolean hasPickle(Path dir) {
        try (var s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".bin"));
        } catch (IOException e) {
            return false;
        }
    }

    public Path dir() {
        return dir;
    }

    public Set<String> names() {
        return byTensor.keySet();
    }

    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    public SafeTensorsFile fileOf(String name) {
        SafeTensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new ModelLoadException(dir + ": missing weight " + name);
        }
        return f;
    }

    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    @Override
    public void close() {
        files.values().forEach(SafeTensorsFile::close);
    }
}
