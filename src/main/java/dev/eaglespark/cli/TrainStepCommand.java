package dev.eaglespark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.draft.LossMaskAlignment;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.draft.ReferenceStep;
import dev.eaglespark.tensors.SafeTensorsFile;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code eaglespark train-step}: one training step from a reference-format file, for cross-checks. */
@CommandLine.Command(name = "train-step",
        header = "one training step from a reference-format batch; writes losses, accuracies and gradients",
        customSynopsis = """
                usage: eaglespark train-step --input FILE.safetensors [--meta FILE.json] --output OUT.safetensors
                                           [--precision fp32|fp16] [--device cpu|gpu]
                                           [--loss-mask reference|shifted]""",
        description = """
                Runs one train-time-test step of the draft on a batch stored the way the reference
                EAGLE-3 trainer's dumps are (input_ids, attention_mask, loss_mask, aux_hidden, h_last,
                target_norm, target_lm_head, param.*, buffer.t2d/d2t; the .json gives the config,
                variant, loss_type, ttt_length and target_rms_norm_eps) and writes ploss [ttt], acc [ttt],
                total_loss [1] and grad.<weight> for every trained weight, under the same names, so two
                implementations can be compared tensor by tensor.""")
public final class TrainStepCommand implements Command {
    @Option(names = "--input", paramLabel = "FILE", required = true, converter = PathKind.LocalPath.class,
            description = "the batch (safetensors)")
    String input;

    @Option(names = "--meta", paramLabel = "FILE", converter = PathKind.LocalPath.class,
            description = "its description (default: the input with .json for .safetensors)")
    String meta;

    @Option(names = "--output", paramLabel = "FILE", required = true, converter = PathKind.LocalPath.class,
            description = "where the results go")
    String output;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32", description = """
            fp32 (default) or fp16: the step as fp16 training computes it
            (fp16 weights and features, loss scale 1024, fp32 loss)""")
    Precision precision;

    @Option(names = "--device", paramLabel = "D", defaultValue = "cpu", description = """
            cpu (default) or gpu: on a GPU the step runs the kernels GPU
            training runs (fused attention in fp16)""")
    ai.djl.Device device;

    @Option(names = "--loss-mask", paramLabel = "A", defaultValue = "reference", description = """
            reference (default: the loss mask where the batch has it, as the
            reference trainer leaves it) or shifted (moved left by one with
            the targets, as 'train' does by default; see 'train --help')""")
    LossMaskAlignment alignment;

    @Override
    public int run() throws Exception {
        Path input = Paths.get(this.input);
        Path meta = Paths.get(this.meta != null ? this.meta : this.input.replaceFirst("\\.safetensors$", ".json"));
        if (!Files.isRegularFile(meta)) {
            throw new UsageException("no description " + meta + " next to the input; give --meta");
        }
        JsonNode m = new ObjectMapper().readTree(meta.toFile());
        Path out = Paths.get(output);
        try (SafeTensorsFile f = SafeTensorsFile.open(input)) {
            ReferenceStep.Result r = ReferenceStep.run(f, m, precision.on(device), device, alignment, 0, false);
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out))) {
                r.toSafeTensors().writeTo(os);
            }
            System.out.println("ploss " + Arrays.toString(r.ploss()) + "\nacc   " + Arrays.toString(r.acc())
                    + "\ntotal " + r.total() + "\nwrote " + out);
        }
        return 0;
    }
}
