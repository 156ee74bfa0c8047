package dev.eaglespark.cli;

import dev.eaglespark.collective.CollectiveKind;
import dev.eaglespark.collective.WireType;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.draft.LossMaskAlignment;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.draft.Precision;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.spark.DeviceChoice;
import dev.eaglespark.spark.TrainStage;
import dev.eaglespark.train.TrainJob;
import dev.eaglespark.train.TrainSettings;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code eaglespark train}: EAGLE-3 draft training on stage-1 features, or online on
 * conversations, a Spark barrier stage of --workers tasks.
 */
@CommandLine.Command(name = "train",
        header = "train the EAGLE-3 draft on stage-1 features or online on conversations (Spark barrier stage; "
                + "checkpoints, resume, export)",
        customSynopsis = """
                usage: eaglespark train --features DIR --target DIR (--vocab FILE | --shared-head)
                                        --checkpoints DIR [options]
                       eaglespark train --online --input GLOB... --target DIR (--vocab FILE | --shared-head)
                                        --checkpoints DIR [options]""",
        description = """
                A barrier stage of --workers tasks (one per GPU), started together; each trains on
                its share of the features and the gradients are averaged every update, by NCCL on
                the GPUs or by a ring all-reduce over TCP (--collective), so N workers with
                micro-batch B equal one worker with N x B rows.
                A failed task fails the stage; Spark retries it and every rank resumes from the
                newest checkpoint. Dynamic allocation must be off.

                Train-time test (TTT) training of the draft: at step k the draft predicts k+1 tokens
                ahead from its own previous hidden state, loss_k weighted 0.8^k. Soft labels come
                from the stored last hidden state through the target's frozen final norm and lm_head.
                AdamW (betas 0.9/0.95), linear warmup then cosine decay to --min-lr, global-norm
                clipping, gradient accumulation. Checkpoints (weights, optimizer state, step, data
                position) go to --checkpoints every --checkpoint-every updates and at the end; each is
                committed by a _COMMITTED marker written last. --resume continues exactly where the
                newest committed checkpoint left off, and refuses a checkpoint of another vocabulary,
                draft config, target, loss or head (an unreadable newest one is reported and the one
                before it used). One run at a time holds the directory (_LEASE); SIGTERM stops at an
                update boundary. A run whose every update was skipped (non-finite) fails and exports
                nothing. metrics.csv holds the training curves.

                With --validation, held-out features (the features stage's output on conversations
                training never sees) are scored after every --validate-every updates and at the end,
                teacher-forced by the training forward itself (no gradients): per-step loss and
                accuracy, and the acceptance length they imply, 1 + sum_k acc_0 x ... x acc_k; and
                greedy speculative rounds (a chain of --ttt drafts) simulated on the same
                predictions: the acceptance by draft position and the tau evaluate measures. They go
                to the log and to metrics.csv (val_* columns); each validated update also writes a
                checkpoint, the best by that length is recorded in state.json and named by the file
                'best' in --checkpoints, and the export is the best checkpoint (--export-last: the
                last weights).

                Online (--online): no feature files. The inputs are the conversations 'features'
                takes, cut into about --input-splits splits of whole lines, dealt to the ranks
                like feature row groups; each rank renders and tokenizes its conversations as
                stage 1 does, runs the target (loaded once, on the rank's device next to the draft)
                over each micro-batch and trains on its aux and last hidden states at once. The
                data position (lines consumed) is in every checkpoint; rejected records go to
                <checkpoints>/_rejects/ (one file per rank and checkpoint) and their counts into
                each checkpoint's state.json. Online costs a target forward per sample and epoch;
                offline costs 32 KiB of storage per token at 8B (see README).""")
public final class TrainCommand implements Command {
    /** The options of online training only. */
    private static final List<String> ONLINE = List.of("--input", "--input-splits", "--aux-layers", "--max-length",
            "--truncation", "--template");
    /** The options that shape validation only. */
    private static final List<String> VALIDATION = List.of("--validate-every", "--validation-rows", "--export-last");

    @Spec
    CommandSpec spec;

    @Option(names = "--features", paramLabel = "DIR", converter = PathKind.UriPath.class,
            description = "output of 'eaglespark features'")
    String features;

    @Option(names = "--online", description = "train on conversations (--input) instead of features")
    boolean online;

    @Option(names = "--input", paramLabel = "GLOB", converter = PathKind.UriPath.class,
            description = "online: conversation JSONL files (.gz, .zst too); repeatable")
    List<String> inputs;

    @Option(names = "--input-splits", paramLabel = "N", description = """
            online: splits over all inputs, the units of sharding and
            shuffling (default 64 x --workers)""")
    @Range(min = 1)
    Integer inputSplits;

    @Option(names = "--aux-layers", paramLabel = "LIST", split = ",",
            description = "online: hidden-state indices to fuse (default 2,L/2,L-3)")
    @Range(min = 0)
    List<Integer> auxLayers;

    @Option(names = "--max-length", paramLabel = "N", defaultValue = "2048",
            description = "online: tokens per sample (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxLength;

    @Option(names = "--truncation", paramLabel = "P", defaultValue = "truncate",
            description = "online: truncate (default) or drop samples over --max-length")
    TruncationPolicy truncation;

    @Option(names = "--template", paramLabel = "FILE", converter = PathKind.LocalPath.class,
            description = "online: a chat template file instead of the target's own")
    String template;

    @Option(names = "--target", paramLabel = "DIR", required = true, converter = PathKind.UriModel.class,
            description = """
                    the target model directory (or 'stories15M', shipped to
                    the executors by the driver)""")
    String target;

    @Option(names = "--vocab", paramLabel = "FILE", converter = PathKind.UriPath.class,
            description = "vocab.safetensors of 'eaglespark vocab' (standard draft)")
    String vocab;

    @Option(names = "--shared-head", description = "full vocabulary, the target's lm_head frozen, no mapping")
    boolean sharedHead;

    @Option(names = "--checkpoints", paramLabel = "DIR", required = true, converter = PathKind.UriPath.class,
            description = "checkpoint directory (file://, hdfs://, s3a://)")
    String checkpoints;

    @Option(names = "--export", paramLabel = "DIR", converter = PathKind.UriPath.class, description = """
            also write the serving draft there at the end (replaced
            only then; refused when it holds foreign files)""")
    String export;

    @Option(names = "--engine", paramLabel = "E", defaultValue = "sglang",
            description = "sglang (default) or vllm: aux layer id convention of the export")
    ServingEngine engine;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1",
            description = "passes over the data (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int epochs;

    @Option(names = "--steps", paramLabel = "N", description = "optimizer updates (overrides --epochs)")
    @Range(min = 1)
    Integer steps;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "500",
            description = "updates between checkpoints (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int checkpointEvery;

    @Option(names = "--resume", description = "continue from the newest committed checkpoint")
    boolean resume;

    @Option(names = "--ttt", paramLabel = "N", defaultValue = "7",
            description = "train-time-test length (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int ttt;

    @Option(names = "--loss", paramLabel = "L", defaultValue = "forward_kl",
            description = "forward_kl (default) or reverse_kl")
    LossType loss;

    @Option(names = "--lr", paramLabel = "X", defaultValue = "1e-4",
            description = "peak learning rate (default ${DEFAULT-VALUE})")
    @Range(above = 0)
    double lr;

    @Option(names = "--min-lr", paramLabel = "X", defaultValue = "1e-5",
            description = "floor of the cosine decay (default ${DEFAULT-VALUE})")
    @Range(min = 0)
    double minLr;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "100",
            description = "warmup updates (default ${DEFAULT-VALUE})")
    @Range(min = 0)
    long warmup;

    @Option(names = "--weight-decay", paramLabel = "X", defaultValue = "0.0",
            description = "decoupled weight decay on matrices (default ${DEFAULT-VALUE})")
    @Range(min = 0)
    double weightDecay;

    @Option(names = "--clip", paramLabel = "X", defaultValue = "0.5",
            description = "global gradient norm limit (default ${DEFAULT-VALUE})")
    @Range(above = 0)
    double clip;

    @Option(names = "--micro-batch", paramLabel = "N", defaultValue = "1",
            description = "rows per forward pass (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int microBatch;

    @Option(names = "--accumulation", paramLabel = "N", defaultValue = "1",
            description = "micro-batches per update (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int accumulation;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "initialisation and data order (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "auto", description = """
            auto (default: fp16 on a GPU, fp32 on the CPU), fp16 or fp32.
            fp16 computes forward and backward on fp16 copies of the
            fp32 weights (softmax, loss and norm statistics in fp32;
            AdamW on fp32 weights and moments) with dynamic loss scaling""")
    Precision precision;

    @Option(names = "--loss-scale", paramLabel = "X", defaultValue = "65536", description = """
            fp16: initial loss scale (default ${DEFAULT-VALUE}). An update whose
            gradients overflow is skipped and halves the scale""")
    @Range(above = 0)
    double lossScale;

    @Option(names = "--loss-scale-interval", paramLabel = "N", defaultValue = "2000", description = """
            fp16: finite updates in a row that double the scale
            (default ${DEFAULT-VALUE})""")
    @Range(min = 1)
    int lossScaleInterval;

    @Option(names = "--loss-mask", paramLabel = "A", defaultValue = "shifted", description = """
            shifted (default): the loss mask moves left by one with the
            targets, so position t counts when token t+1 is an
            assistant token (the last prompt position, which proposes
            the first draft token, is trained; a sample's last
            position, whose target is padding, is not). reference:
            unshifted, as the reference trainers do""")
    LossMaskAlignment lossMask;

    @Option(names = "--validation", paramLabel = "DIR", converter = PathKind.UriPath.class, description = """
            held-out features ('eaglespark features' output of
            conversations not trained on; same target and aux layers,
            online too)""")
    String validation;

    @Option(names = "--validate-every", paramLabel = "N",
            description = "updates between validations (default: --checkpoint-every)")
    @Range(min = 1)
    Integer validateEvery;

    @Option(names = "--validation-rows", paramLabel = "N",
            description = "score the first N rows of --validation (default: all)")
    @Range(min = 1)
    Integer validationRows;

    @Option(names = "--export-last",
            description = "export the last weights, not the best checkpoint by validation")
    boolean exportLast;

    @Option(names = "--allow-target-mismatch", description = """
            train on features (and validation features) another
            target made: warnings instead of the stop when the hashes
            of config.json, tokenizer.json or the chat template, or
            the aux layers differ (another hidden size or number of
            aux layers always stops)""")
    boolean allowTargetMismatch;

    @Option(names = "--recompute", description = """
            keep only each TTT step's output, keys and values in the
            forward and recompute one step at a time in the backward:
            about a third of the activation memory per token, for one
            more forward of the steps (long sequences)""")
    boolean recompute;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
            description = "barrier tasks, one per GPU (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int workers;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = """
            auto (default: the GPU Spark assigns the task, else the
            CPU), gpu (also in local mode: rank mod visible GPUs), cpu""")
    DeviceChoice device;

    @Option(names = "--collective", paramLabel = "C", defaultValue = "auto", description = """
            auto (default: NCCL when every worker has a GPU and loads
            the same NCCL, else the ring), nccl (fails on a worker
            that cannot) or ring (TCP through host memory)""")
    CollectiveKind collective;

    @Option(names = "--wire", paramLabel = "W", defaultValue = "fp32",
            description = "all-reduce wire format: fp32 (default) or fp16")
    WireType wire;

    @Option(names = "--io-timeout", paramLabel = "S", defaultValue = "600", description = """
            seconds a rank waits for a silent peer before failing
            (default ${DEFAULT-VALUE}; covers rank 0 writing a checkpoint)""")
    @Range(min = 1)
    int ioTimeout;

    @Override
    public int run() throws Exception {
        if (!sharedHead && vocab == null) {
            throw new UsageException("give --vocab FILE (standard draft) or --shared-head");
        }
        if (collective == CollectiveKind.NCCL && device == DeviceChoice.CPU) {
            throw new UsageException("--collective nccl all-reduces on GPUs: it cannot run with --device cpu");
        }
        TrainJob.OnlineInput onlineInput = null;
        if (online) {
            if (features != null) {
                throw new UsageException("--online trains on --input conversations: give no --features");
            }
            require(inputs, "--input");
            // the demo target is resolved by SparkStages
            FeatureSettings f = new FeatureSettings(target, FeaturesCommand.ints(auxLayers), maxLength, truncation,
                    template == null ? null : java.nio.file.Files.readString(java.nio.file.Paths.get(template)), 0, 0);
            onlineInput = new TrainJob.OnlineInput(inputs, f, inputSplits != null ? inputSplits : 64 * workers);
        } else {
            refuseWithout(ONLINE, "is for online training: give --online too");
            require(features, "--features");
        }
        TrainJob job = new TrainJob(features, target, vocab, sharedHead, checkpoints, epochs, steps == null ? 0 : steps,
                checkpointEvery, resume, export, engine, settings(), validation(), onlineInput);
        if (allowTargetMismatch) {
            job = job.allowingTargetMismatch();
        }
        return SparkStages.train(job, new TrainStage.Workers(workers, device.name().toLowerCase(Locale.ROOT), wire,
                Duration.ofSeconds(ioTimeout), collective));
    }

    /** The training knobs of these options. */
    TrainSettings settings() {
        return TrainSettings.builder().tttLength(ttt).loss(loss).lr(lr).minLr(minLr).warmupSteps(warmup)
                .weightDecay(weightDecay).clipNorm(clip).microBatch(microBatch).accumulation(accumulation).seed(seed)
                .precision(precision).initialLossScale(lossScale).lossScaleGrowthInterval(lossScaleInterval)
                .lossMask(lossMask).recompute(recompute).build();
    }

    /** The validation split of --validation, or null. */
    private TrainJob.Validation validation() {
        if (validation == null) {
            refuseWithout(VALIDATION, "needs --validation DIR");
            return null;
        }
        return new TrainJob.Validation(validation, validateEvery == null ? 0 : validateEvery,
                validationRows == null ? 0 : validationRows, exportLast);
    }

    /** A usage error for the first of {@code options} given (on the command line or in the config file). */
    private void refuseWithout(List<String> options, String why) {
        for (String o : options) {
            if (OptionParser.given(spec, o)) {
                throw new UsageException(o + " " + why);
            }
        }
    }

    private static void require(Object value, String option) {
        if (value == null) {
            throw new UsageException("missing required option " + option);
        }
    }
}
