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
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code eaglespark dump}: what a target model computes, as safetensors, plus greedy decoding. */
@CommandLine.Command(name = "dump",
        header = "write a target's hidden states and logits (transformers' layout) and its greedy continuation",
        customSynopsis = "usage: eaglespark dump --model DIR (--ids IDS | --text TEXT)... --out FILE [options]",
        description = """
                Runs the target model on one or more sequences (a right-padded batch) and writes a
                safetensors file: hidden_states [L+1, B, T, D] (0 = embeddings, i = output of layer
                i-1, L = after the final norm, as transformers returns them), logits [B, T, V],
                input_ids and attention_mask [B, T], and greedy [B, N] when --greedy N is given
                (-1 after an end-of-sequence token). The greedy text is printed too.""")
public final class DumpCommand implements Command {
    @Option(names = "--model", paramLabel = "DIR", required = true, converter = PathKind.LocalModel.class,
            description = """
                    Hugging Face model directory (config.json + safetensors), or
                    'stories15M' for the demo model (fetched once with npm)""")
    String model;

    @Option(names = "--ids", paramLabel = "IDS",
            description = "comma-separated token ids of one sequence; repeat for a batch")
    List<long[]> ids = new ArrayList<>();

    @Option(names = "--text", paramLabel = "TEXT", description = """
            text of one sequence, tokenized with DIR/tokenizer.json (BOS
            added as the tokenizer defines); repeat for a batch""")
    List<String> texts = new ArrayList<>();

    @Option(names = "--out", paramLabel = "FILE", required = true, converter = PathKind.LocalPath.class,
            description = "the safetensors file to write")
    String out;

    @Option(names = "--greedy", paramLabel = "N", defaultValue = "0",
            description = "also decode N tokens greedily per sequence (default ${DEFAULT-VALUE})")
    @Range(min = 0)
    int greedy;

    @Option(names = "--device", paramLabel = "D", defaultValue = "cpu",
            description = "cpu (default) or gpu")
    Device device;

    @Option(names = "--dtype", paramLabel = "T", description = "fp32 or fp16 (default: fp32 on cpu, fp16 on gpu)")
    DataType dtype;

    @Override
    public int run() throws IOException {
        Path modelDir = resolveModel(model);
        Path out = Paths.get(this.out);
        DataType dtype = this.dtype != null ? this.dtype : TargetModel.defaultDtype(device);
        List<long[]> sequences = new ArrayList<>(ids);
        if (!texts.isEmpty()) {
            sequences.addAll(tokenize(modelDir, texts));
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
}
