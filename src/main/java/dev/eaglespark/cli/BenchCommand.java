package dev.eaglespark.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.bench.DecodeBench;
import dev.eaglespark.bench.FeaturesBench;
import dev.eaglespark.bench.ForwardOpProfile;
import dev.eaglespark.bench.TrainScalingBench;
import dev.eaglespark.collective.CollectiveKind;
import dev.eaglespark.collective.WireType;
import dev.eaglespark.bench.TrainBench;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Map;

/** {@code eaglespark bench}: throughput at real model shapes with random weights (DJL only). */
public final class BenchCommand implements LegacyCommand {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(Map.entry("stage", true),
            Map.entry("shapes", true), Map.entry("batch", true), Map.entry("seq", true), Map.entry("warmup", true),
            Map.entry("iters", true), Map.entry("device", true), Map.entry("aux", true), Map.entry("profile", true),
            Map.entry("precision", true), Map.entry("draft-vocab", true), Map.entry("ttt", true),
            Map.entry("workers", true), Map.entry("wire", true), Map.entry("collective", true), Map.entry("op-profile", false),
            Map.entry("accumulate", true),
            Map.entry("prompt-len", true), Map.entry("new-tokens", true), Map.entry("mix", true),
            Map.entry("requests", true), Map.entry("answers", true), Map.entry("bandwidth", true),
            Map.entry("shared-head", false), Map.entry("online", false), Map.entry("recompute", false));

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("profile", PathKind.LOCAL); // --shapes also takes a built-in name: used as given
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
                usage: eaglespark bench --stage features|train|decode [options]

                Stage 1 (features): random token ids through a target with random fp16 weights, by
                the features stage's extractor: the three aux states fused to [B, T, 3H] and the
                last hidden state checked for overflow and copied to the host as fp16, one array per
                sample. On a GPU one batch is read off the device while the next is computed; the
                time per batch is the median interval between batches. Prints tokens/s, useful
                TFLOP/s (projections, MLP and causal attention) and GPU memory in use, per batch
                size.

                Stage 2 (train): full training updates of an EAGLE-3 draft shaped like the target's
                layers (3 aux layers), random weights and random fp16 features made on the device,
                forward KL: soft labels, train-time-test forward and backward, unscaling, clipping
                and AdamW, as training runs them. Prints median ms/step, tokens/s, useful TFLOP/s
                and GPU memory in use (on the CPU: the most an update raised the process's resident
                size). FLOPs per token, forward x3 for forward and backward:
                  3 x (2*3Ht*H [fc, once] + TTT x (2*(2H*(q+2kv) + q*H + 3*H*I) [q/k/v, o, MLP]
                  + 2*T*q [causal attention over the step-0 keys])) + TTT x 3 x 2*H*Vd [draft
                  lm_head; x2 instead of x3 for the frozen shared head] + 2*Ht*Vt [soft labels,
                  forward only]
                with q = heads x head_dim, kv = KV heads x head_dim, I the MLP width, Vd and Vt the
                draft and target vocabularies.

                Decode (the regenerate stage's generation): the target with random fp16 weights,
                greedy, every row to its token limit, each decode step one call (all layers, head
                and the pick on the device). Fixed shapes: batches of random --prompt-len prompts,
                --new-tokens each; an iteration generates one token, then --new-tokens, and a decode
                step is the difference over the extra steps. Prints the prefill, ms per decode step,
                tokens/s and the step's memory floor: the weights and the mean step's cached keys and
                values read once at --bandwidth, and the step's ratio to it. With --mix, a realistic
                mix instead: --requests per slot, random --prompt-len prompts, answer lengths drawn
                (seeded) from --answers MIN-MAX, uniform or log-normal (MIN and MAX its 2.5% and 97.5%
                quantiles), through --batch slots of continuous batching and then of static batches
                (a batch admits new rows only when all have ended) on the same requests: useful
                tokens/s (the answers' tokens only), steps and slot occupancy.

                Results are recorded in docs/BENCHMARKS.md.

                options:
                  --stage S        features (default), train or decode
                  --shapes C       llama3.1-8b (default) or a config.json path for other shapes
                  --batch LIST     batch sizes, comma-separated (default 1,4; train: 1; decode: 1,32;
                                   decode --mix: slots, 32)
                  --seq N          sequence length (default 2048)
                  --prompt-len N   decode: prompt tokens per row (default 512)
                  --new-tokens N   decode: tokens generated per row, at least 2 (default 128)
                  --mix D          decode: a realistic mix, answer lengths uniform or lognormal
                  --requests N     decode --mix: requests per slot, per run (default 4)
                  --answers A-B    decode --mix: answer lengths from A to B tokens (default 50-1000)
                  --bandwidth G    decode: GPU memory bandwidth in GB/s for the floor (default 4800, an
                                   H200)
                  --warmup N       untimed iterations first (default 3)
                  --iters N        timed iterations (default 10)
                  --device D       gpu (default) or cpu
                  --aux LIST       features: hidden-state indices to fuse (default 2,L/2,L-3)
                  --precision P    train: auto (default: fp16 on a GPU, fp32 on the CPU), fp16 or fp32
                  --draft-vocab N  train: draft vocabulary size (default 32000)
                  --shared-head    train: the shared-head variant, the target's full vocabulary
                                   (128,256 at llama3.1-8b) with its lm_head frozen
                  --online         train: online training, the target (random fp16 weights, on the
                                   same device) making each micro-batch's features inside the
                                   update; prints stage 1 alone (F), training on ready features
                                   (T), online (O) and O against the serial bound 1/(1/F + 1/T)
                  --ttt N          train: train-time-test length (default 7)
                  --recompute      train: recompute the TTT steps one at a time in the backward, as
                                   train --recompute does (less memory, one more forward)
                  --accumulate L   train: micro-batches per update (gradient accumulation, default 1;
                                   a comma-separated list runs each in turn on the same weights);
                                   times are then per micro-batch
                  --workers N      train: N ranks in this JVM (rank r on GPU r mod count), gradients
                                   averaged every update as the train stage does (default 1)
                  --collective C   train with workers: auto (default: NCCL when every rank has a
                                   GPU), nccl (also for one rank: a one-rank communicator) or ring
                                   (over loopback)
                  --wire W         train with workers: fp32 (default) or fp16 on the wire
                  --profile DIR    also profile one iteration per batch size with PyTorch's profiler
                                   and write DIR/<stage>-b<B>.json (chrome trace)
                  --op-profile     features: also print, per batch size, the GPU time of each section
                                   of a decoder layer inside its fused call (CUDA events; on a GPU),
                                   the whole-layer call (host dispatch and GPU) and the copy of the
                                   features to the host, in ms per forward
                """;
    }

    @Override
    public int run(Args args) throws Exception {
        String stage = args.get("stage", "features");
        String config = args.get("shapes", "llama3.1-8b");
        String json = config.equals("llama3.1-8b") ? FeaturesBench.llama31_8bConfig()
                : Files.readString(Paths.get(config));
        TargetConfig cfg = TargetConfig.parse(new ObjectMapper().readTree(json), config);
        var device = args.get("device", "gpu", ValueTypes::device);
        return switch (stage) {
            case "features" -> features(args, cfg, config, device);
            case "train" -> train(args, cfg, config, device);
            case "decode" -> decode(args, cfg, config, device);
            default -> throw new UsageException("--stage must be features, train or decode, got '" + stage + "'");
        };
    }

    private static int decode(Args args, TargetConfig cfg, String config, ai.djl.Device device) {
        int newTokens = args.getInt("new-tokens", 128);
        if (newTokens < 2) {
            throw new UsageException("--new-tokens must be at least 2, got " + newTokens);
        }
        DecodeBench.Answers answers = null;
        int[] range = {50, 1000};
        if (args.has("mix")) {
            try {
                answers = DecodeBench.Answers.valueOf(args.get("mix", null).toUpperCase(java.util.Locale.ROOT));
                String[] ab = args.get("answers", "50-1000").split("-");
                range = new int[] {Integer.parseInt(ab[0].strip()), Integer.parseInt(ab[1].strip())};
            } catch (RuntimeException e) {
                throw new UsageException("--mix takes uniform or lognormal and --answers MIN-MAX, got '"
                        + args.get("mix", null) + "', '" + args.get("answers", "50-1000") + "'");
            }
        }
        double bandwidth = Double.parseDouble(args.get("bandwidth", "4800")) * 1e9;
        int promptLen = args.getInt("prompt-len", 512);
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device))) {
            DecodeBench bench = new DecodeBench(model, bandwidth);
            if (answers != null) {
                System.out.println("decode, " + config + " shapes, " + model.dtype() + " on " + device + ", greedy, "
                        + promptLen + "-token prompts, answers " + answers.name().toLowerCase(java.util.Locale.ROOT)
                        + " in " + range[0] + "-" + range[1] + " tokens");
                for (int slots : args.getInts("batch", "32")) {
                    for (DecodeBench.MixResult r : bench.mix(slots, args.getInt("requests", 4) * slots, promptLen,
                            answers, range[0], range[1], 42)) {
                        System.out.println(r.format());
                    }
                }
                return 0;
            }
            System.out.println("decode, " + config + " shapes, " + model.dtype() + " on " + device + ", greedy");
            for (int batch : args.getInts("batch", "1,32")) {
                System.out.println(bench.run(batch, promptLen, newTokens, args.getInt("warmup", 3),
                        args.getInt("iters", 10), 42).format());
            }
        }
        return 0;
    }

    private static int features(Args args, TargetConfig cfg, String config, ai.djl.Device device) throws Exception {
        int[] aux = args.has("aux") ? args.getInts("aux", null)
                : dev.eaglespark.features.FeatureSettings.defaultAux(cfg.numLayers());
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device))) {
            FeaturesBench bench = new FeaturesBench(model, aux);
            System.out.println("features, " + config + " shapes, " + model.dtype() + " on " + device + ", aux "
                    + Arrays.toString(aux));
            for (int batch : args.getInts("batch", "1,4")) {
                int seq = args.getInt("seq", 2048);
                FeaturesBench.Result result = bench.run(batch, seq, args.getInt("warmup", 3), args.getInt("iters", 10), 42);
                System.out.println(result.format());
                if (args.has("profile")) {
                    bench.profile(batch, seq, profileFile(args, "features", batch));
                }
                if (args.has("op-profile")) {
                    var rows = new ForwardOpProfile(cfg, device).run(batch, seq, 20);
                    System.out.println(ForwardOpProfile.format(rows, result.medianSeconds() * 1e3));
                }
            }
        }
        return 0;
    }

    private static int train(Args args, TargetConfig cfg, String config, ai.djl.Device device) throws Exception {
        Precision precision = args.get("precision", "auto", Precision::parse).on(device);
        if (args.has("shared-head") && args.has("draft-vocab")) {
            throw new UsageException("--shared-head trains the target's full vocabulary: give no --draft-vocab");
        }
        int vocab = args.has("shared-head") ? cfg.vocabSize() : args.getInt("draft-vocab", 32000);
        DraftConfig draft = DraftConfig.forTarget(cfg, vocab, 3);
        int ttt = args.getInt("ttt", 7);
        int workers = args.getInt("workers", 1);
        if (workers > 1 || args.has("collective")) {
            if (args.has("profile")) {
                throw new UsageException("--profile traces one rank: give it without --workers and --collective");
            }
            WireType wire = args.get("wire", "fp32", WireType::parse);
            CollectiveKind collective = args.get("collective", "auto", CollectiveKind::parse);
            for (int batch : args.getInts("batch", "1")) {
                for (TrainScalingBench.Result r : TrainScalingBench.run(draft, workers, collective, wire, precision,
                        ttt, batch, args.getInt("seq", 2048), args.getInts("accumulate", "1"), args.getInt("warmup", 3),
                        args.getInt("iters", 10))) {
                    System.out.println(r.format());
                }
            }
            return 0;
        }
        System.out.println("train, " + config + " shapes, draft vocabulary " + draft.draftVocabSize()
                + (args.has("shared-head") ? " (shared head, frozen)" : "") + ", TTT " + ttt
                + (args.has("recompute") ? " (steps recomputed in the backward)" : "") + ", forward KL, " + precision
                + " on " + device);
        if (args.has("online")) {
            return trainOnline(args, cfg, draft, precision, ttt, device);
        }
        try (TrainBench bench = new TrainBench(draft, device, precision, ttt, args.has("recompute"))) {
            for (int batch : args.getInts("batch", "1")) {
                int seq = args.getInt("seq", 2048);
                for (int accumulate : args.getInts("accumulate", "1")) {
                    System.out.println(bench.run(batch, seq, accumulate, args.getInt("warmup", 3),
                            args.getInt("iters", 10)).format());
                }
                if (args.has("profile")) {
                    bench.profile(batch, seq, profileFile(args, "train", batch));
                }
            }
        }
        return 0;
    }

    /**
     * Stage 1 alone (F), training on ready features (T) and online training (O) in one process,
     * the target with random weights next to the draft; O against the serial bound 1/(1/F + 1/T).
     */
    private static int trainOnline(Args args, TargetConfig cfg, DraftConfig draft, Precision precision, int ttt,
                                   ai.djl.Device device) {
        if (args.has("profile") || args.has("workers")) {
            throw new UsageException("--online measures one rank: give no --profile or --workers");
        }
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device));
             TrainBench bench = new TrainBench(draft, precision, ttt, model, args.has("recompute"))) {
            int warmup = args.getInt("warmup", 3);
            int iters = args.getInt("iters", 10);
            int micro = args.getInt("accumulate", 1);
            for (int batch : args.getInts("batch", "1")) {
                int seq = args.getInt("seq", 2048);
                FeaturesBench.Result f = new FeaturesBench(model, dev.eaglespark.features.FeatureSettings.defaultAux(
                        cfg.numLayers())).run(batch, seq, warmup, iters, 42);
                TrainBench.Result t = bench.run(batch, seq, micro, warmup, iters, false);
                TrainBench.Result o = bench.run(batch, seq, micro, warmup, iters, true);
                double bound = 1 / (1 / f.tokensPerSecond() + 1 / t.tokensPerSecond());
                System.out.println("features (F): " + f.format());
                System.out.println("training on features (T): " + t.format());
                System.out.println("online (O): " + o.format());
                System.out.printf("online %,.0f tokens/s = %.2f x the serial bound 1/(1/F + 1/T) = %,.0f tokens/s%n",
                        o.tokensPerSecond(), o.tokensPerSecond() / bound, bound);
            }
        }
        return 0;
    }

    private static String profileFile(Args args, String stage, int batch) throws java.io.IOException {
        java.nio.file.Path dir = Files.createDirectories(Paths.get(args.get("profile", null)));
        return dir.resolve(stage + "-b" + batch + ".json").toString();
    }
}
