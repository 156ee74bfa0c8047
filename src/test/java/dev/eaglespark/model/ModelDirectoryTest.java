package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.SafeTensorsWriter;
import dev.eaglespark.tensors.TensorDType;
import dev.eaglespark.tensors.TensorFormatException;
import dev.eaglespark.tensors.TensorInfo;
import dev.eaglespark.testutil.Close;
import dev.eaglespark.testutil.Fixtures;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading model directories the Hugging Face way, and refusing broken ones with a clear message. */
class ModelDirectoryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<long[]> IDS = List.of(new long[] {1, 5, 9, 200, 999, 3}, new long[] {7, 8});

    @TempDir
    Path tmp;

    @Test
    void shardedCheckpointWithMixedDtypesGivesTheSameOutputs() throws IOException {
        Path src = Fixtures.path("tiny-llama3");
        // F32 + BF16 shards hold the bf16 values exactly: outputs must not move at all.
        assertArrayEquals(logits(src), logits(sharded(src, TensorDType.BF16)));
        // F16 loses the smallest bf16 values to subnormals: close, not equal.
        Close.assertRelative("F16 shard logits", logits(src), logits(sharded(src, TensorDType.F16)), 1e-3);
    }

    private Path sharded(Path src, TensorDType second) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("sharded-" + second));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafeTensorsWriter a = new SafeTensorsWriter();
        SafeTensorsWriter b = new SafeTensorsWriter();
        ObjectNode index = JSON.createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        try (SafeTensorsFile st = SafeTensorsFile.open(src.resolve("model.safetensors"))) {
            int i = 0;
            for (TensorInfo t : st.tensors().values()) {
                boolean first = i++ % 2 == 0;
                (first ? a : b).addFloats(t.name(), t.shape(), st.readFloats(t.name()),
                        first ? TensorDType.F32 : second);
                map.put(t.name(), first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
            }
        }
        write(a, dir.resolve("model-00001-of-00002.safetensors"));
        write(b, dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        return dir;
    }

    @Test
    void refusesBrokenDirectoriesClearly() throws IOException {
        Path src = Fixtures.path("tiny-llama3");
        expect(tmp.resolve("nowhere"), "model directory not found");
        expect(copy(src, "noconfig", c -> null), "missing config.json");
        expect(copy(src, "gemma", c -> {
            c.putArray("architectures").add("GemmaForCausalLM");
            return c;
        }),
                "unsupported architecture GemmaForCausalLM");
        expect(copy(src, "yarn", c -> {
            c.putObject("rope_scaling").put("rope_type", "yarn");
            return c;
        }),
                "unsupported rope type yarn");
        expect(copy(src, "shape", c -> c.put("intermediate_size", 128)), "config expects [128, 64]");
        expect(copy(src, "noheads", c -> {
            c.remove("hidden_size");
            return c;
        }), "missing hidden_size");
        expect(copy(src, "gelu", c -> c.put("hidden_act", "gelu")), "unsupported hidden_act");

        Path pickle = copy(src, "pickle", c -> c);
        Files.delete(pickle.resolve("model.safetensors"));
        Files.write(pickle.resolve("pytorch_model.bin"), new byte[] {1});
        expect(pickle, "pickled .bin weights are not loaded");

        Path missing = copy(src, "missing", c -> c);
        rewrite(missing.resolve("model.safetensors"), name -> !name.equals("model.layers.3.mlp.up_proj.weight"));
        expect(missing, "missing weight model.layers.3.mlp.up_proj.weight");

        Path corrupt = copy(src, "corrupt", c -> c);
        byte[] bytes = Files.readAllBytes(corrupt.resolve("model.safetensors"));
        Files.write(corrupt.resolve("model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        TensorFormatException e = assertThrows(TensorFormatException.class,
                () -> TargetModel.load(corrupt, Device.cpu()).close());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    private float[] logits(Path dir) {
        try (TargetModel m = TargetModel.load(dir, Device.cpu());
             NDManager nd = NDManager.newBaseManager(Device.cpu())) {
            return m.forward(nd, IDS, ForwardRequest.logitsOnly()).logits().toFloatArray();
        }
    }

    private Path copy(Path src, String name, Function<ObjectNode, ObjectNode> editConfig) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        ObjectNode cfg = editConfig.apply((ObjectNode) JSON.readTree(src.resolve("config.json").toFile()));
        if (cfg != null) {
            Files.writeString(dir.resolve("config.json"), cfg.toString());
        }
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    private static void rewrite(Path file, java.util.function.Predicate<String> keep) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile st = SafeTensorsFile.open(file)) {
            for (TensorInfo t : st.tensors().values()) {
                if (keep.test(t.name())) {
                    w.addFloats(t.name(), t.shape(), st.readFloats(t.name()), TensorDType.BF16);
                }
            }
        }
        write(w, file);
    }

    private static void write(SafeTensorsWriter w, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            w.writeTo(out);
        }
    }

    private static void expect(Path dir, String fragment) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> TargetModel.load(dir, Device.cpu()).close());
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
    }
}
