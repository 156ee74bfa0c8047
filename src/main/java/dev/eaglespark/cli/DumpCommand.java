package dev.eaglespark.cli;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.model.ModelDump;
import dev.eaglespark.model.TargetModel;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code eaglespark dump}: what a target model computes, as safetensors, plus greedy decoding. */
public final class DumpCommand implements LegacyCommand {
    private static final Map<String, Boolean> OPTIONS = Map.of(
            "model", true, "ids", true, "text", true, "out", true, "greedy", true,
            "device", true, "dtype", true);

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("model", PathKind.LOCAL, "out", PathKind.LOCAL);
    }

    @Override
    public String name() {
        return "dump";
    }

    @Override
    public String summary() {
        return "write a target's hidden states and logits (transformers' layout) and its greedy continuation";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark dump --model DIR (--ids IDS | --text TEXT)... --out FILE [options]

                Runs the target model on one or more sequences (a right-padded batch) and writes a
                safetensors file: hidden_states [L+1, B, T, D] (0 = embeddings, i = output of layer
                i-1, L = after the final norm, as transformers returns them), logits [B, T, V],
                input_ids and attention_mask [B, T], and greedy [B, N] when --greedy N is given
                (-1 after an end-of-sequence token). The greedy text is printed too.

                options:
                  --model DIR     Hugging Face model directory (config.json + safetensors), or
                                  'stories15M' for the demo model (fetched once with npm)
                  --ids IDS       comma-separated token ids of one sequence; repeat for a batch
                  --text TEXT     text of one sequence, tokenized with DIR/tokenizer.json (BOS
                                  added as the tokenizer defines); repeat for a batch
                  --out FILE      the safetensors file to write
                  --greedy N      also decode N tokens greedily per sequence (default 0)
                  --device D      cpu (default) or gpu
                  --dtype T       fp32 or fp16 (default: fp32 on cpu, fp16 on gpu)
                """;
    }

    @Override
    public int run(Args args) throws IOException {
        Path modelDir = resolveModel(args.required("model"));
        Path out = Paths.get(args.required("out"));
        Device device = parseDevice(args.get("device", "cpu"));
        DataType dtype = args.has("dtype") ? parseDtype(args.get("dtype", null)) : TargetModel.defaultDtype(device);
        int greedy = args.getInt("greedy", 0);
        List<long[]> sequences = new ArrayList<>();
        for (String ids : args.all("ids")) {
            sequences.add(parseIds(ids));
        }
        if (!args.all("text").isEmpty()) {
            sequences.addAll(tokenize(modelDir, args.all("text")));
        }
        if (sequences.isEmpty()) {
            throw new UsageException("give at least one --ids or --text");
        }
        try (TargetModel model = TargetModel.load(modelDir, device, dtype)) {
            Set<Long> stops = new HashSet<>();
            model.config().eosTokenIds().forEach(id -> stops.add((long) id));
            ModelDump.Dump dump = ModelDump.dump(model, sequences, greedy, stops);
            if (out.getParent() != null) {
                Files.createDirectories(out.getParent());
            }
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
                dump.tensors().writeTo(os);
            }
            System.out.println("wrote " + out + " (" + sequences.size() + " sequences, " + model.config().numLayers()
                    + " layers, " + dtype + ")");
            printGreedy(modelDir, dump.greedy());
        }
        return 0;
    }

    private static Path resolveModel(String spec) throws IOException {
        return Paths.get(ModelArg.resolve(spec));
    }

    private static void printGreedy(Path modelDir, List<long[]> continuations) throws IOException {
        if (continuations.isEmpty()) {
            return;
        }
        HuggingFaceTokenizer tok = Files.isRegularFile(modelDir.resolve("tokenizer.json")) ? tokenizer(modelDir) : null;
        for (int row = 0; row < continuations.size(); row++) {
            long[] ids = continuations.get(row);
            System.out.println("greedy[" + row + "]: " + Arrays.toString(ids)
                    + (tok == null ? "" : "\n  text: " + tok.decode(ids, true)));
        }
        if (tok != null) {
            tok.close();
        }
    }

    private static List<long[]> tokenize(Path modelDir, List<String> texts) throws IOException {
        if (!Files.isRegularFile(modelDir.resolve("tokenizer.json"))) {
            throw new UsageException("--text needs " + modelDir.resolve("tokenizer.json") + "; use --ids instead");
        }
        List<long[]> out = new ArrayList<>();
        try (HuggingFaceTokenizer tok = tokenizer(modelDir)) {
            for (String t : texts) {
                out.add(tok.encode(t).getIds());
            }
        }
        return out;
    }

    /** No truncation and no padding: the library truncates at 512 tokens unless told otherwise. */
    private static HuggingFaceTokenizer tokenizer(Path modelDir) throws IOException {
        return HuggingFaceTokenizer.builder().optTokenizerPath(modelDir.resolve("tokenizer.json"))
                .optTruncation(false).optPadding(false).optAddSpecialTokens(true).build();
    }

    static long[] parseIds(String s) {
        try {
            return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                    .mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw new UsageException("--ids needs comma-separated integers, got '" + s + "'");
        }
    }

    static Device parseDevice(String s) {
        return switch (s) {
            case "cpu" -> Device.cpu();
            case "gpu", "cuda" -> Device.gpu();
            default -> throw new UsageException("--device must be cpu or gpu, got '" + s + "'");
        };
    }

    static DataType parseDtype(String s) {
        return switch (s) {
            case "fp32", "float32" -> DataType.FLOAT32;
            case "fp16", "float16" -> DataType.FLOAT16;
            default -> throw new UsageException("--dtype must be fp32 or fp16, got '" + s + "'");
        };
    }
}
