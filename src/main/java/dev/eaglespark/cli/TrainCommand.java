package dev.eaglespark.cli;

import ai.djl.Device;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.train.DraftTraining;
import dev.eaglespark.train.TrainJob;
import dev.eaglespark.train.TrainSettings;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/** {@code eaglespark train}: EAGLE-3 draft training on stage-1 features (one worker). */
public final class TrainCommand implements Command {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(
            Map.entry("features", true), Map.entry("target", true), Map.entry("vocab", true),
            Map.entry("shared-head", false), Map.entry("checkpoints", true), Map.entry("export", true),
            Map.entry("engine", true), Map.entry("epochs", true), Map.entry("steps", true),
            Map.entry("checkpoint-every", true), Map.entry("resume", false), Map.entry("ttt", true),
            Map.entry("loss", true), Map.entry("lr", true), Map.entry("min-lr", true), Map.entry("warmup", true),
            Map.entry("weight-decay", true), Map.entry("clip", true), Map.entry("micro-batch", true),
            Map.entry("accumulation", true), Map.entry("seed", true), Map.entry("device", true));

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public String name() {
        return "train";
    }

    @Override
    public String summary() {
        return "train the EAGLE-3 draft on stage-1 features (one worker; checkpoints, resume, export)";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark train --features DIR --target DIR (--vocab FILE | --shared-head)
                                        --checkpoints DIR [options]

                Train-time test (TTT) training of the draft: at step k the draft predicts k+1 tokens
                ahead from its own previous hidden state, loss_k weighted 0.8^k. Soft labels come
                from the stored last hidden state through the target's frozen final norm and lm_head.
                AdamW (betas 0.9/0.95), linear warmup then cosine decay to --min-lr, global-norm
                clipping, gradient accumulation. Checkpoints (weights, optimizer state, step, data
                position) go to --checkpoints every --checkpoint-every updates and at the end; each is
                committed by a _COMMITTED marker written last. --resume continues exactly where the
                newest committed checkpoint left off. metrics.csv holds the training curves.

                options:
                  --features DIR         output of 'eaglespark features'
                  --target DIR           the target model directory (or 'stories15M')
                  --vocab FILE           vocab.safetensors of 'eaglespark vocab' (standard draft)
                  --shared-head          full vocabulary, the target's lm_head frozen, no mapping
                  --checkpoints DIR      checkpoint directory (file://, hdfs://, s3a://)
                  --export DIR           also write the serving draft there at the end
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
                  --device D             cpu (default) or gpu
                """;
    }

    @Override
    public int run(String[] argv) throws Exception {
        Args a = Args.parse(argv, OPTIONS);
        boolean shared = a.has("shared-head");
        if (!shared && !a.has("vocab")) {
            throw new UsageException("give --vocab FILE (standard draft) or --shared-head");
        }
        TrainSettings s;
        ServingEngine engine;
        try {
            s = new TrainSettings(a.getInt("ttt", 7), 0.8, LossType.parse(a.get("loss", "forward_kl")),
                    Double.parseDouble(a.get("lr", "1e-4")), Double.parseDouble(a.get("min-lr", "1e-5")),
                    a.getInt("warmup", 100), 0, Double.parseDouble(a.get("weight-decay", "0.0")),
                    Double.parseDouble(a.get("clip", "0.5")), a.getInt("micro-batch", 1), a.getInt("accumulation", 1),
                    Long.parseLong(a.get("seed", "0")));
            engine = ServingEngine.parse(a.get("engine", "sglang"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        TrainJob job = new TrainJob(a.required("features"), ModelArg.resolve(a.required("target")),
                a.get("vocab", null), shared, a.required("checkpoints"), a.getInt("epochs", 1), a.getInt("steps", 0),
                a.getInt("checkpoint-every", 500), a.has("resume"), a.get("export", null), engine, s);
        Device device = DumpCommand.parseDevice(a.get("device", "cpu"));
        DraftTraining.Summary summary = DraftTraining.run(job, 0, 1, device, (g, t) -> { }, new Configuration());
        System.out.println("trained " + summary.steps() + " updates; last checkpoint " + summary.lastCheckpoint());
        return 0;
    }
}
