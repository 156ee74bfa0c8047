package dev.eaglespark.cli;

import dev.eaglespark.collective.CollectiveKind;
import dev.eaglespark.collective.WireType;
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
import java.util.Map;

/**
 * {@code eaglespark train}: EAGLE-3 draft training on stage-1 features, or online on
 * conversations, a Spark barrier stage of --workers tasks.
 */
public final class TrainCommand implements LegacyConversationInputs {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(
            Map.entry("features", true), Map.entry("target", true), Map.entry("vocab", true),
            Map.entry("shared-head", false), Map.entry("checkpoints", true), Map.entry("export", true),
            Map.entry("engine", true), Map.entry("epochs", true), Map.entry("steps", true),
            Map.entry("checkpoint-every", true), Map.entry("resume", false), Map.entry("ttt", true),
            Map.entry("loss", true), Map.entry("lr", true), Map.entry("min-lr", true), Map.entry("warmup", true),
            Map.entry("weight-decay", true), Map.entry("clip", true), Map.entry("micro-batch", true),
            Map.entry("accumulation", true), Map.entry("seed", true), Map.entry("device", true),
            Map.entry("workers", true), Map.entry("wire", true), Map.entry("io-timeout", true), Map.entry("collective", true),
            Map.entry("precision", true), Map.entry("loss-scale", true), Map.entry("loss-scale-interval", true),
            Map.entry("loss-mask", true), Map.entry("validation", true), Map.entry("validate-every", true),
            Map.entry("validation-rows", true), Map.entry("export-last", false),
            Map.entry("online", false), Map.entry("input", true), Map.entry("aux-layers", true),
            Map.entry("max-length", true), Map.entry("truncation", true), Map.entry("template", true),
            Map.entry("input-splits", true), Map.entry("recompute", false));

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("features", PathKind.URI, "target", PathKind.URI, "vocab", PathKind.URI,
                "checkpoints", PathKind.URI, "export", PathKind.URI, "validation", PathKind.URI,
                "input", PathKind.URI, "template", PathKind.LOCAL);
    }

    @Override
    public String name() {
        return "train";
    }

    @Override
    public String summary() {
        return "train the EAGLE-3 draft on stage-1 features or online on conversations (Spark barrier stage; "
                + "checkpoints, resume, export)";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark train --features DIR --target DIR (--vocab FILE | --shared-head)
                                        --checkpoints DIR [options]
                       eaglespark train --online --input GLOB... --target DIR (--vocab FILE | --shared-head)
                                        --checkpoints DIR [options]

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
                accuracy, and the acceptance length they imply, 1 + sum_k acc_0 x ... x acc_k. They go
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
                offline costs 32 KiB of storage per token at 8B (see README).

                options:
                  --features DIR         output of 'eaglespark features'
                  --online               train on conversations (--input) instead of features
                  --input GLOB           online: conversation JSONL files (.gz, .zst too); repeatable
                  --input-splits N       online: splits over all inputs, the units of sharding and
                                         shuffling (default 64 x --workers)
                  --aux-layers LIST      online: hidden-state indices to fuse (default 2,L/2,L-3)
                  --max-length N         online: tokens per sample (default 2048)
                  --truncation P         online: truncate (default) or drop samples over --max-length
                  --template FILE        online: a chat template file instead of the target's own
                  --target DIR           the target model directory (or 'stories15M', shipped to
                                         the executors by the driver)
                  --vocab FILE           vocab.safetensors of 'eaglespark vocab' (standard draft)
                  --shared-head          full vocabulary, the target's lm_head frozen, no mapping
                  --checkpoints DIR      checkpoint directory (file://, hdfs://, s3a://)
                  --export DIR           also write the serving draft there at the end (replaced
                                         only then; refused when it holds foreign files)
                  --engine E             sglang (default) or vllm: aux layer id convention of the export
                  --epochs N             passes over the data (default 1)
                  --steps N              optimizer updates (overrides --epochs)
                  --checkpoint-every N   updates between checkpoints (default 500)
                  --resume               continue from the newest committed checkpoint
                  --ttt N                train-time-test length (default 7)
                  --loss L               forward_kl (default) or reverse_kl
                  --lr X                 peak learning rate (default 1e-4)
                  --min-lr X             floor of the cosine decay (default 1e-5)
                  --warmup N             warmup updates (default 100)
                  --weight-decay X       decoupled weight decay on matrices (default 0.0)
                  --clip X               global gradient norm limit (default 0.5)
                  --micro-batch N        rows per forward pass (default 1)
                  --accumulation N       micro-batches per update (default 1)
                  --seed N               initialisation and data order (default 0)
                  --precision P          auto (default: fp16 on a GPU, fp32 on the CPU), fp16 or fp32.
                                         fp16 computes forward and backward on fp16 copies of the
                                         fp32 weights (softmax, loss and norm statistics in fp32;
                                         AdamW on fp32 weights and moments) with dynamic loss scaling
                  --loss-scale X         fp16: initial loss scale (default 65536). An update whose
                                         gradients overflow is skipped and halves the scale
                  --loss-scale-interval N  fp16: finite updates in a row that double the scale
                                         (default 2000)
                  --loss-mask A          shifted (default): the loss mask moves left by one with the
                                         targets, so position t counts when token t+1 is an
                                         assistant token (the last prompt position, which proposes
                                         the first draft token, is trained; a sample's last
                                         position, whose target is padding, is not). reference:
                                         unshifted, as the reference trainers do
                  --validation DIR       held-out features ('eaglespark features' output of
                                         conversations not trained on; same target and aux layers,
                                         online too)
                  --validate-every N     updates between validations (default: --checkpoint-every)
                  --validation-rows N    score the first N rows of --validation (default: all)
                  --export-last          export the last weights, not the best checkpoint by validation
                  --recompute            keep only each TTT step's output, keys and values in the
                                         forward and recompute one step at a time in the backward:
                                         about a third of the activation memory per token, for one
                                         more forward of the steps (long sequences)
                  --workers N            barrier tasks, one per GPU (default 1)
                  --device D             auto (default: the GPU Spark assigns the task, else the
                                         CPU), gpu (also in local mode: rank mod visible GPUs), cpu
                  --collective C         auto (default: NCCL when every worker has a GPU and loads
                                         the same NCCL, else the ring), nccl (fails on a worker
                                         that cannot) or ring (TCP through host memory)
                  --wire W               all-reduce wire format: fp32 (default) or fp16
                  --io-timeout S         seconds a rank waits for a silent peer before failing
                                         (default 600; covers rank 0 writing a checkpoint)
                """;
    }

    @Override
    public int run(Args a) throws Exception {
        boolean shared = a.has("shared-head");
        if (!shared && !a.has("vocab")) {
            throw new UsageException("give --vocab FILE (standard draft) or --shared-head");
        }
        TrainSettings s;
        ServingEngine engine;
        try {
            s = TrainSettings.builder().tttLength(a.getInt("ttt", 7)).loss(LossType.parse(a.get("loss", "forward_kl")))
                    .lr(Double.parseDouble(a.get("lr", "1e-4"))).minLr(Double.parseDouble(a.get("min-lr", "1e-5")))
                    .warmupSteps(a.getInt("warmup", 100)).weightDecay(Double.parseDouble(a.get("weight-decay", "0.0")))
                    .clipNorm(Double.parseDouble(a.get("clip", "0.5"))).microBatch(a.getInt("micro-batch", 1))
                    .accumulation(a.getInt("accumulation", 1)).seed(Long.parseLong(a.get("seed", "0")))
                    .precision(Precision.parse(a.get("precision", "auto")))
                    .initialLossScale(Double.parseDouble(a.get("loss-scale", "65536")))
                    .lossScaleGrowthInterval(a.getInt("loss-scale-interval", 2000))
                    .lossMask(LossMaskAlignment.parse(a.get("loss-mask", "shifted"))).recompute(a.has("recompute"))
                    .build();
            engine = ServingEngine.parse(a.get("engine", "sglang"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String device = a.get("device", "auto");
        DeviceChoice choice = a.get("device", "auto", DeviceChoice::parse);
        int workers = a.getInt("workers", 1);
        if (workers < 1) {
            throw new UsageException("--workers must be at least 1");
        }
        CollectiveKind collective = a.get("collective", "auto", CollectiveKind::parse);
        if (collective == CollectiveKind.NCCL && choice == DeviceChoice.CPU) {
            throw new UsageException("--collective nccl all-reduces on GPUs: it cannot run with --device cpu");
        }
        String target = a.required("target"); // the demo is resolved by SparkStages
        TrainJob.OnlineInput online = null;
        String features = null;
        if (a.has("online")) {
            if (a.has("features")) {
                throw new UsageException("--online trains on --input conversations: give no --features");
            }
            FeatureSettings f = new FeatureSettings(target, a.getInts("aux-layers", null), a.getInt("max-length", 2048),
                    a.get("truncation", "truncate", dev.eaglespark.data.TruncationPolicy::parse), a.fileText("template"), 0, 0);
            online = new TrainJob.OnlineInput(a.requiredAll("input"), f, a.getInt("input-splits", 64 * workers));
        } else {
            for (String o : List.of("input", "input-splits", "aux-layers", "max-length", "truncation", "template")) {
                if (a.has(o)) {
                    throw new UsageException("--" + o + " is for online training: give --online too");
                }
            }
            features = a.required("features");
        }
        TrainJob job = new TrainJob(features, target, a.get("vocab", null), shared, a.required("checkpoints"),
                a.getInt("epochs", 1), a.getInt("steps", 0), a.getInt("checkpoint-every", 500), a.has("resume"),
                a.get("export", null), engine, s, validation(a), online);
        return SparkStages.train(job, new TrainStage.Workers(workers, device, a.get("wire", "fp32", WireType::parse),
                Duration.ofSeconds(a.getInt("io-timeout", 600)), collective));
    }

    /** The validation split of --validation, or null. */
    private static TrainJob.Validation validation(Args a) {
        for (String dependent : List.of("validate-every", "validation-rows", "export-last")) {
            if (a.has(dependent) && !a.has("validation")) {
                throw new UsageException("--" + dependent + " needs --validation DIR");
            }
        }
        if (!a.has("validation")) {
            return null;
        }
        int every = a.getInt("validate-every", 0);
        int rows = a.getInt("validation-rows", 0);
        if (every < 0 || rows < 0) {
            throw new UsageException("--validate-every and --validation-rows must not be negative");
        }
        return new TrainJob.Validation(a.get("validation", null), every, rows, a.has("export-last"));
    }
}
