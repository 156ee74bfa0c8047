package dev.eaglespark.cli;

import dev.eaglespark.bench.DecodeBench;
import dev.eaglespark.bench.DecodeOpProfile;
import dev.eaglespark.bench.FeaturesBench;
import dev.eaglespark.bench.ForwardOpProfile;
import dev.eaglespark.bench.TrainBench;
import dev.eaglespark.bench.TrainScalingBench;
import dev.eaglespark.collective.CollectiveKind;
import dev.eaglespark.collective.WireType;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code eaglespark bench}: throughput at real model shapes with random weights (DJL only). */
@CommandLine.Command(name = "bench", header = "measure stage throughput at real model shapes with random weights",
        customSynopsis = "usage: eaglespark bench --stage features|train|decode [options]",
        description = """
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
                and the pick on the device), on a GPU replayed as a CUDA graph (off with
                -Deaglespark.cuda-graphs=false). Fixed shapes: batches of random --prompt-len
                prompts, --new-tokens each; an iteration generates one token, then two, then
                --new-tokens, and a decode step is the difference of the last two over the extra
                steps. Prints the prefill, ms per decode step,
                tokens/s and the step's memory floor: the weights and the mean step's cached keys and
                values read once at --bandwidth, and the step's ratio to it. With --mix, a realistic
                mix instead: --requests per slot, random --prompt-len prompts, answer lengths drawn
                (seeded) from --answers MIN-MAX, uniform or log-normal (MIN and MAX its 2.5% and 97.5%
                quantiles), through --batch slots of continuous batching and then of static batches
                (a batch admits new rows only when all have ended) on the same requests: useful
                tokens/s (the answers' tokens only), steps and slot occupancy.

                Results are recorded in docs/BENCHMARKS.md.""")
public final class BenchCommand implements Command {
    /** What is measured. */
    enum Stage { FEATURES, TRAIN, DECODE }

    @Spec
    CommandSpec spec;

    @Option(names = "--stage", paramLabel = "S", defaultValue = "features",
            description = "features (default), train or decode")
    Stage stage;

    // a built-in name or a config.json path: used as given
    @Option(names = "--shapes", paramLabel = "C", defaultValue = "llama3.1-8b",
            description = "llama3.1-8b (default) or a config.json path for other shapes")
    String shapes;

    @Option(names = "--batch", paramLabel = "LIST", split = ",", description = """
            batch sizes, comma-separated (default 1,4; train: 1; decode: 1,32;
            decode --mix: slots, 32)""")
    @Range(min = 1)
    List<Integer> batches;

    @Option(names = "--seq", paramLabel = "N", defaultValue = "2048",
            description = "sequence length (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int seq;

    @Option(names = "--prompt-len", paramLabel = "N", defaultValue = "512",
            description = "decode: prompt tokens per row (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int promptLen;

    @Option(names = "--new-tokens", paramLabel = "N", defaultValue = "128",
            description = "decode: tokens generated per row, at least 3 (default ${DEFAULT-VALUE})")
    @Range(min = 3)
    int newTokens;

    @Option(names = "--mix", paramLabel = "D",
            description = "decode: a realistic mix, answer lengths uniform or lognormal")
    String mix;

    @Option(names = "--requests", paramLabel = "N", defaultValue = "4",
            description = "decode --mix: requests per slot, per run (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int requests;

    @Option(names = "--answers", paramLabel = "A-B", defaultValue = "50-1000",
            description = "decode --mix: answer lengths from A to B tokens (default ${DEFAULT-VALUE})")
    String answers;

    @Option(names = "--bandwidth", paramLabel = "G", defaultValue = "4800", description = """
            decode: GPU memory bandwidth in GB/s for the floor (default ${DEFAULT-VALUE}, an
            H200)""")
    @Range(above = 0)
    double bandwidth;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3",
            description = "untimed iterations first (default ${DEFAULT-VALUE})")
    @Range(min = 0)
    int warmup;

    @Option(names = "--iters", paramLabel = "N", defaultValue = "10",
            description = "timed iterations (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int iters;

    @Option(names = "--device", paramLabel = "D", defaultValue = "gpu", description = "gpu (default) or cpu")
    ai.djl.Device device;

    @Option(names = "--aux", paramLabel = "LIST", split = ",",
            description = "features: hidden-state indices to fuse (default 2,L/2,L-3)")
    @Range(min = 0)
    List<Integer> aux;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "auto",
            description = "train: auto (default: fp16 on a GPU, fp32 on the CPU), fp16 or fp32")
    Precision precision;

    @Option(names = "--draft-vocab", paramLabel = "N", defaultValue = "32000",
            description = "train: draft vocabulary size (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int draftVocab;

    @Option(names = "--shared-head", description = """
            train: the shared-head variant, the target's full vocabulary
            (128,256 at llama3.1-8b) with its lm_head frozen""")
    boolean sharedHead;

    @Option(names = "--online", description = """
            train: online training, the target (random fp16 weights, on the
            same device) making each micro-batch's features inside the
            update; prints stage 1 alone (F), training on ready features
            (T), online (O) and O against the serial bound 1/(1/F + 1/T)""")
    boolean online;

    @Option(names = "--ttt", paramLabel = "N", defaultValue = "7",
            description = "train: train-time-test length (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int ttt;

    @Option(names = "--recompute", description = """
            train: recompute the TTT steps one at a time in the backward, as
            train --recompute does (less memory, one more forward)""")
    boolean recompute;

    @Option(names = "--accumulate", paramLabel = "L", split = ",", defaultValue = "1", description = """
            train: micro-batches per update (gradient accumulation, default ${DEFAULT-VALUE};
            a comma-separated list runs each in turn on the same weights);
            times are then per micro-batch""")
    @Range(min = 1)
    List<Integer> accumulate;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "1", description = """
            train: N ranks in this JVM (rank r on GPU r mod count), gradients
            averaged every update as the train stage does (default ${DEFAULT-VALUE})""")
    @Range(min = 1)
    int workers;

    @Option(names = "--collective", paramLabel = "C", defaultValue = "auto", description = """
            train with workers: auto (default: NCCL when every rank has a
            GPU), nccl (also for one rank: a one-rank communicator) or ring
            (over loopback)""")
    CollectiveKind collective;

    @Option(names = "--wire", paramLabel = "W", defaultValue = "fp32",
            description = "train with workers: fp32 (default) or fp16 on the wire")
    WireType wire;

    @Option(names = "--profile", paramLabel = "DIR", converter = PathKind.LocalPath.class, description = """
            also profile one iteration per batch size with PyTorch's profiler
            and write DIR/<stage>-b<B>.json (chrome trace)""")
    String profile;

    @Option(names = "--op-profile", description = """
            features: also print, per batch size, the GPU time of each section
            of a decoder layer inside its fused call (CUDA events; on a GPU),
            the whole-layer call (host dispatch and GPU) and the copy of the
            features to the host, in ms per forward. decode (fixed shapes):
            the GPU time of each section of a decode step's layer, in ms per
            step""")
    boolean opProfile;

    @Override
    public int run() throws Exception {
        TargetConfig cfg = FeaturesBench.shapes(shapes);
        return switch (stage) {
            case FEATURES -> features(cfg);
            case TRAIN -> train(cfg);
            case DECODE -> decode(cfg);
        };
    }

    /** --batch, or the stage's default batch sizes. */
    private List<Integer> batches(Integer... defaults) {
        return batches != null ? batches : List.of(defaults);
    }

    private int decode(TargetConfig cfg) {
        DecodeBench.Answers answerMix = null;
        int[] range = {50, 1000};
        if (mix != null) {
            try {
                answerMix = DecodeBench.Answers.valueOf(mix.toUpperCase(Locale.ROOT));
                String[] ab = answers.split("-");
                range = new int[] {Integer.parseInt(ab[0].strip()), Integer.parseInt(ab[1].strip())};
            } catch (RuntimeException e) {
                throw new UsageException("--mix takes uniform or lognormal and --answers MIN-MAX, got '" + mix + "', '"
                        + answers + "'");
            }
        }
        if (opProfile && (mix != null || !device.isGpu())) {
            throw new UsageException("--op-profile times a decode step's sections with CUDA events: fixed shapes on a GPU");
        }
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device))) {
            DecodeBench bench = new DecodeBench(model, bandwidth * 1e9);
            if (answerMix != null) {
                System.out.println("decode, " + shapes + " shapes, " + model.dtype() + " on " + device + ", greedy, "
                        + promptLen + "-token prompts, answers " + answerMix.name().toLowerCase(Locale.ROOT)
                        + " in " + range[0] + "-" + range[1] + " tokens, "
                        + (model.decodesWithCudaGraphs() ? "CUDA graphs" : "TorchScript interpreter"));
                for (int slots : batches(32)) {
                    for (DecodeBench.MixResult r : bench.mix(slots, requests * slots, promptLen, answerMix, range[0],
                            range[1], 42)) {
                        System.out.println(r.format());
                    }
                }
                return 0;
            }
            System.out.println("decode, " + shapes + " shapes, " + model.dtype() + " on " + device + ", greedy, "
                    + (model.decodesWithCudaGraphs() ? "CUDA graphs" : "TorchScript interpreter"));
            for (int batch : batches(1, 32)) {
                DecodeBench.Result result = bench.run(batch, promptLen, newTokens, warmup, iters, 42);
                System.out.println(result.format());
                if (opProfile) {
                    var rows = new DecodeOpProfile(cfg, device).run(batch, promptLen + newTokens / 2, 20);
                    System.out.println(ForwardOpProfile.format(rows, result.stepSeconds() * 1e3, "step"));
                }
            }
        }
        return 0;
    }

    private int features(TargetConfig cfg) throws Exception {
        int[] auxLayers = aux != null ? FeaturesCommand.ints(aux)
                : dev.eaglespark.features.FeatureSettings.defaultAux(cfg.numLayers());
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device))) {
            FeaturesBench bench = new FeaturesBench(model, auxLayers);
            System.out.println("features, " + shapes + " shapes, " + model.dtype() + " on " + device + ", aux "
                    + Arrays.toString(auxLayers));
            for (int batch : batches(1, 4)) {
                FeaturesBench.Result result = bench.run(batch, seq, warmup, iters, 42);
                System.out.println(result.format());
                if (profile != null) {
                    bench.profile(batch, seq, profileFile("features", batch));
                }
                if (opProfile) {
                    var rows = new ForwardOpProfile(cfg, device).run(batch, seq, 20);
                    System.out.println(ForwardOpProfile.format(rows, result.medianSeconds() * 1e3, "forward"));
                }
            }
        }
        return 0;
    }

    private int train(TargetConfig cfg) throws Exception {
        Precision precision = this.precision.on(device);
        if (sharedHead && OptionParser.given(spec, "--draft-vocab")) {
            throw new UsageException("--shared-head trains the target's full vocabulary: give no --draft-vocab");
        }
        DraftConfig draft = DraftConfig.forTarget(cfg, sharedHead ? cfg.vocabSize() : draftVocab, 3);
        if (workers > 1 || OptionParser.given(spec, "--collective")) {
            if (profile != null) {
                throw new UsageException("--profile traces one rank: give it without --workers and --collective");
            }
            for (int batch : batches(1)) {
                for (TrainScalingBench.Result r : TrainScalingBench.run(draft, workers, collective, wire, precision,
                        ttt, batch, seq, FeaturesCommand.ints(accumulate), warmup, iters)) {
                    System.out.println(r.format());
                }
            }
            return 0;
        }
        System.out.println("train, " + shapes + " shapes, draft vocabulary " + draft.draftVocabSize()
                + (sharedHead ? " (shared head, frozen)" : "") + ", TTT " + ttt
                + (recompute ? " (steps recomputed in the backward)" : "") + ", forward KL, " + precision
                + " on " + device);
        if (online) {
            return trainOnline(cfg, draft, precision);
        }
        try (TrainBench bench = new TrainBench(draft, device, precision, ttt, recompute)) {
            for (int batch : batches(1)) {
                for (int micro : accumulate) {
                    System.out.println(bench.run(batch, seq, micro, warmup, iters).format());
                }
                if (profile != null) {
                    bench.profile(batch, seq, profileFile("train", batch));
                }
            }
        }
        return 0;
    }

    /**
     * Stage 1 alone (F), training on ready features (T) and online training (O) in one process,
     * the target with random weights next to the draft; O against the serial bound 1/(1/F + 1/T).
     */
    private int trainOnline(TargetConfig cfg, DraftConfig draft, Precision precision) {
        if (profile != null || OptionParser.given(spec, "--workers")) {
            throw new UsageException("--online measures one rank: give no --profile or --workers");
        }
        try (TargetModel model = TargetModel.random(cfg, device, TargetModel.defaultDtype(device));
             TrainBench bench = new TrainBench(draft, precision, ttt, model, recompute)) {
            int micro = accumulate.get(0);
            for (int batch : batches(1)) {
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

    private String profileFile(String stage, int batch) throws java.io.IOException {
        java.nio.file.Path dir = Files.createDirectories(Paths.get(profile));
        return dir.resolve(stage + "-b" + batch + ".json").toString();
    }
}
