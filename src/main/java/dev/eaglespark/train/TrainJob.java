package dev.eaglespark.train;

import dev.eaglespark.export.ServingEngine;
import java.io.Serializable;

/**
 * Everything a training run needs.
 *
 * @param features output directory of the features stage
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
 */
public record TrainJob(String features, String target, String vocab, boolean sharedHead, String checkpoints,
                       int epochs, long maxSteps, long checkpointEvery, boolean resume, String export,
                       ServingEngine engine, TrainSettings settings, Validation validation) implements Serializable {

    /**
     * A validation split: {@code features} is the features stage's output on held-out
     * conversations. It is scored after every {@code every} updates (0: at every checkpoint) and
     * at the end, on its first {@code maxRows} rows (0: all); each validated update also writes
     * a checkpoint, and the export is the checkpoint with the highest expected acceptance length
     * unless {@code exportLast}.
     */
    public record Validation(String features, long every, long maxRows, boolean exportLast) implements Serializable {}

    /** A job without a validation split. */
    public TrainJob(String features, String target, String vocab, boolean sharedHead, String checkpoints, int epochs,
                    long maxSteps, long checkpointEvery, boolean resume, String export, ServingEngine engine,
                    TrainSettings settings) {
        this(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume, export,
                engine, settings, null);
    }

    /** The same job with the target at {@code dir} (where the driver or an executor finds it). */
    public TrainJob withTarget(String dir) {
        return new TrainJob(features, dir, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume,
                export, engine, settings);
    }

    /** The same job continuing from its newest checkpoint (what a retried stage runs). */
    public TrainJob resuming() {
        return new TrainJob(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, true,
                export, engine, settings, validation);
    }

    /** The same job scoring {@code v} during training. */
    public TrainJob withValidation(Validation v) {
        return new TrainJob(features, target, vocab, sharedHead, checkpoints, epochs, maxSteps, checkpointEvery, resume,
                export, engine, settings, v);
    }

    /** Updates between validations: the split's own interval, else the checkpoints' (0: only at the end). */
    public long validateEvery() {
        return validation == null ? 0 : validation.every() > 0 ? validation.every() : checkpointEvery;
    }
}
