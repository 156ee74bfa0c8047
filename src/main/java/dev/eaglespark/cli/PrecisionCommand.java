package dev.eaglespark.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.model.PrecisionReport;
import dev.eaglespark.model.TargetModel;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code eaglespark precision}: fp16 against fp32 for one target, layer by layer. */
@CommandLine.Command(name = "precision",
        header = "compare a target's fp16 forward with its fp32 forward, layer by layer (overflow check)",
        customSynopsis = "usage: eaglespark precision --model DIR --ids IDS [--ids IDS]... [--device gpu] [--dtype fp16]",
        description = """
                Loads the target twice, in fp32 and in the reduced dtype, runs the same batch and prints
                for every hidden state and the logits: the largest error relative to the tensor's largest
                magnitude, the largest magnitudes (fp16 overflows past 65504) and the argmax agreement.""")
public final class PrecisionCommand implements Command {
    @Option(names = "--model", paramLabel = "DIR", required = true, converter = PathKind.LocalModel.class,
            description = "Hugging Face model directory, or 'stories15M'")
    String model;

    @Option(names = "--ids", paramLabel = "IDS", required = true,
            description = "comma-separated token ids of one sequence; repeat for a batch")
    List<long[]> ids;

    @Option(names = "--device", paramLabel = "D", defaultValue = "gpu", description = "gpu (default) or cpu")
    Device device;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "fp16", description = "the reduced dtype, fp16 (default)")
    DataType low;

    @Override
    public int run() throws Exception {
        Path dir = Paths.get(ModelArg.resolve(model));
        try (TargetModel ref = TargetModel.load(dir, device, DataType.FLOAT32);
             TargetModel red = TargetModel.load(dir, device, low)) {
            System.out.print(PrecisionReport.compare(ref, red, ids).format());
        }
        return 0;
    }
}
