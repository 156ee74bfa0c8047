package dev.eaglespark.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.model.PrecisionReport;
import dev.eaglespark.model.TargetModel;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code eaglespark precision}: fp16 against fp32 for one target, layer by layer. */
public final class PrecisionCommand implements LegacyCommand {
    private static final Map<String, Boolean> OPTIONS = Map.of("model", true, "ids", true, "device", true,
            "dtype", true);

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("model", PathKind.LOCAL);
    }

    @Override
    public String name() {
        return "precision";
    }

    @Override
    public String summary() {
        return "compare a target's fp16 forward with its fp32 forward, layer by layer (overflow check)";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark precision --model DIR --ids IDS [--ids IDS]... [--device gpu] [--dtype fp16]

                Loads the target twice, in fp32 and in the reduced dtype, runs the same batch and prints
                for every hidden state and the logits: the largest error relative to the tensor's largest
                magnitude, the largest magnitudes (fp16 overflows past 65504) and the argmax agreement.

                options:
                  --model DIR   Hugging Face model directory, or 'stories15M'
                  --ids IDS     comma-separated token ids of one sequence; repeat for a batch
                  --device D    gpu (default) or cpu
                  --dtype T     the reduced dtype, fp16 (default)
                """;
    }

    @Override
    public int run(Args args) throws Exception {
        String spec = args.required("model");
        Path dir = Paths.get(ModelArg.resolve(spec));
        Device device = DumpCommand.parseDevice(args.get("device", "gpu"));
        DataType low = DumpCommand.parseDtype(args.get("dtype", "fp16"));
        List<long[]> seqs = new ArrayList<>();
        args.all("ids").forEach(s -> seqs.add(DumpCommand.parseIds(s)));
        if (seqs.isEmpty()) {
            throw new UsageException("give at least one --ids");
        }
        try (TargetModel ref = TargetModel.load(dir, device, DataType.FLOAT32);
             TargetModel red = TargetModel.load(dir, device, low)) {
            System.out.print(PrecisionReport.compare(ref, red, seqs).format());
        }
        return 0;
    }
}
