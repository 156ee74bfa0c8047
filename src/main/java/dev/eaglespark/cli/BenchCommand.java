package dev.eaglespark.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.bench.FeaturesBench;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Map;

/** {@code eaglespark bench}: throughput at real model shapes with random weights (DJL only). */
public final class BenchCommand implements Command {
    private static final Map<String, Boolean> OPTIONS = Map.of("stage", true, "shapes", true, "batch", true,
            "seq", true, "warmup", true, "iters", true, "device", true, "aux", true,
            "profile", true);

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "measure stage throughput at real model shapes with random weights";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark bench --stage features [options]

                Stage 1 (features): random token ids through a target with random fp16 weights; the
                three aux states fused to [B, T, 3H] and the last hidden state copied to the host as
                fp16. Prints median tokens/s, useful TFLOP/s (projections, MLP and causal attention)
                and GPU memory in use, per batch size. Results are recorded in docs/BENCHMARKS.md.

                options:
                  --stage S      features (default)
                  --shapes C     llama3.1-8b (default) or a config.json path for other shapes
                  --batch LIST   batch sizes, comma-separated (default 1,4)
                  --seq N        sequence length (default 2048)
                  --warmup N     untimed iterations first (default 3)
                  --iters N      timed iterations (default 10)
                  --device D     gpu (default) or cpu
                  --aux LIST     hidden-state indices to fuse (default 2,L/2,L-3)
                  --profile DIR  also profile one iteration per batch size with PyTorch's profiler
                                 and write DIR/features-b<B>.json (chrome trace)
                """;
    }

    @Override
    public int run(String[] argv) throws Exception {
        Args args = Args.parse(argv, OPTIONS);
        String stage = args.get("stage", "features");
        if (!stage.equals("features")) {
            throw new UsageException("--stage must be features, got '" + stage + "'");
        }
        String config = args.get("shapes", "llama3.1-8b");
        String json = config.equals("llama3.1-8b") ? FeaturesBench.llama31_8bConfig()
                : Files.readString(Paths.get(config));
        TargetConfig cfg = TargetConfig.parse(new ObjectMapper().readTree(json), config);
        int layers = cfg.numLayers();
        int[] aux = args.has("aux") ? ints(args.get("aux", null), "aux")
                : new int[] {2, layers / 2, layers - 3};
        var device = DumpCommand.parseDevice(args.get("device", "gpu"));
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device))) {
            FeaturesBench bench = new FeaturesBench(model, aux);
            System.out.println("features, " + config + " shapes, " + model.dtype() + " on " + device + ", aux "
                    + Arrays.toString(aux));
            for (int batch : ints(args.get("batch", "1,4"), "batch")) {
                int seq = args.getInt("seq", 2048);
                System.out.println(bench.run(batch, seq, args.getInt("warmup", 3), args.getInt("iters", 10), 42)
                        .format());
                if (args.has("profile")) {
                    java.nio.file.Path dir = Files.createDirectories(Paths.get(args.get("profile", null)));
                    bench.profile(batch, seq, dir.resolve("features-b" + batch + ".json").toString());
                }
            }
        }
        return 0;
    }

    private static int[] ints(String list, String option) {
        try {
            return Arrays.stream(list.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new UsageException("--" + option + " needs comma-separated integers, got '" + list + "'");
        }
    }
}
