package dev.eaglespark.train;

import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.InputPlanner;
import dev.eaglespark.features.InputSplit;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * Everything a training run needs.
 *
 * @param features output directory of the features stage; null when training online
 * @param target the target model directory (embeddings, final norm and lm_head come from it)
 * @param vocab vocab.safetensors of the vocab stage; ignored for the shared head
 * @param sharedHead full vocabulary with the target's lm_head frozen
 * @param checkpoints checkpoint directory (any Hadoop URI)
 * @param epochs passes over the data (when maxSteps is 0)
 * @param maxSteps optimizer updates to run; 0 for epochs x steps per epoch
 * @param checkpointEvery updates between checkpoints (and at the end)
 * @param resume continue from the newest committed checkpoint when there is one
 * @param export where to write the serving draft at the end; null for none
 * @param validation the held-out features scored during training; null for none
 * @param online conversations to train on directly, the target running in the job; null to
 *     train on {@code features}
 * @param allowTargetMismatch train on features another target made (warnings instead of the
 *     stop, {@link TargetCheck})
 */
public record TrainJob(String features, String target, String vocab, boolean sharedHead, String checkpoints,
                       int epochs, long maxSteps, long checkpointEvery, boolean resume, String export,
                       ServingEngine engine, TrainSettings settings, Validation validation, OnlineInput online,
                       boolean allowTargetMismatch)
        implements Serializable {

    /**
     * A validation split: {@code features} is the features stage's output on held-out
     * conversations. It is scored after every {@code every} updates (0: at every checkpoint) and
     * at the end, on its first {@code maxRows} rows (0: all); each validated update also writes
     * a checkpoint, and the export is the checkpoint with the highest expected acceptance length
     * unless {@code exportLast}.
     */
    public record Validation(String features, long every, long maxRows, boolean exportLast) implements Serializable {}

    /**
     * Online training's input: conversation files (globs, .gz and .zst, any Hadoop URI) cut into
     * about {@code splits} splits of whole lines (the units of sharding and shuffling), made into
     * samples and features as {@code features} would with {@code settings} (its model is the target).
     *
     * @param planned the splits, when planned already (the train stage plans them once, on the
     *     driver, instead of every rank scanning every input); null to plan them where needed
     */
    public record OnlineInput(List<String> inputs, FeatureSettings settings, int splits, List<InputSplit> planned)
            implements Serializable {
        public OnlineInput {
            inputs = List.copyOf(inputs);
            planned = planned == null ? null : List.copyOf(planned);
            if (splits < 1) {
                throw new IllegalArgumentException("online training needs at least one input split, got " + splits);
            }
        }

        public OnlineInput(List<String> inputs, FeatureSettings settings, int splits) {
            this(inputs, settings, splits, null);
        }

        /** The splits: as planned, or planned now (every input file scanned for its line starts). */
        public List<InputSplit> splits(Configuration conf) throws IOException {
            return planned != null ? planned : InputPlanner.plan(InputPlanner.files(inputs, conf), conf, splits);
        }

        /** The same input with its splits planned. */
        public OnlineInput plan(Configuration conf) throws IOException {
            return new OnlineInput(inputs, settings, splits, splits(conf));
        }
    }

    public TrainJob {
        if ((features == null) == (online == null)) {
            throw new IllegalArgumentException("a training job reads either features or conversations (online)");
        }
    }

    /** A job that stops when its input does not match its target. */
    public TrainJob(String features, String target, String vocab, boolean sharedHead, String checkpoints, int epochs,
                    long maxSteps, long checkpointEvery, boolean resume, String export, ServingEngine engine,
                    TrainSettings settings, Validation validation, OnlineInput online) {
        this(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume, export,
                engine, settings, validation, online, false);
    }

    /** Training on stage-1 features, without a validation split. */
    public TrainJob(String features, String target, String vocab, boolean sharedHead, String checkpoints, int epochs,
                    long maxSteps, long checkpointEvery, boolean resume, String export, ServingEngine engine,
                    TrainSettings settings) {
        this(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume, export,
                engine, settings, null, null);
    }

    /**
     * The same job with the target at {@code dir} (where the driver or an executor finds it), also
     * as the model of an online input.
     */
    public TrainJob withTarget(String dir) {
        OnlineInput o = online == null ? null
                : new OnlineInput(online.inputs(), online.settings().withModelDir(dir), online.splits(),
                        online.planned());
        return new TrainJob(features, dir, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume,
                export, engine, settings, validation, o, allowTargetMismatch);
    }

    /** The same job continuing from its newest checkpoint (what a retried stage runs). */
    public TrainJob resuming() {
        return new TrainJob(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, true,
                export, engine, settings, validation, online, allowTargetMismatch);
    }

    /** The same job scoring {@code v} during training. */
    public TrainJob withValidation(Validation v) {
        return new TrainJob(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume,
                export, engine, settings, v, online, allowTargetMismatch);
    }

    /** The same job training on features another target made, with warnings ({@code --allow-target-mismatch}). */
    public TrainJob allowingTargetMismatch() {
        return new TrainJob(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume,
                export, engine, settings, validation, online, true);
    }

    /** Updates between validations: the split's own interval, else the checkpoints' (0: only at the end). */
    public long validateEvery() {
        return validation == null ? 0 : validation.every() > 0 ? validation.every() : checkpointEvery;
    }

    /** The same job with its online input's splits planned (nothing to do for features). */
    public TrainJob planned(Configuration conf) throws IOException {
        return online == null ? this : new TrainJob(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps,
                checkpointEvery, resume, export, engine, settings, validation, online.plan(conf), allowTargetMismatch);
    }

    /** What the job reads, for logs and the Spark UI. */
    public String input() {
        return online == null ? features : "conversations " + online.inputs() + " (online)";
    }
}
