package dev.eaglespark.train;

import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.features.FeatureOrigin;
import dev.eaglespark.features.FeatureSettings;
import dev.eaglespark.features.TargetFiles;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The one check of what a run trains on against the target it is given, made before anything
 * is trained (by the driver before it asks for executors, by every rank again). Stage-1
 * features must come from this target: the hashes of its config.json and tokenizer.json, its
 * chat template's (where the features used the model's own), its hidden size, aux layers that
 * it has. Validation features must come from what the training input came from: the same
 * fields, the aux layers one by one. A difference stops the run naming both values and both
 * sources, unless the job allows a target mismatch ({@code --allow-target-mismatch}: then each
 * is a warning); another hidden size or number of aux layers always stops, the draft cannot
 * read such rows. A field an older manifest does not record is named in a warning, not compared.
 */
public final class TargetCheck {
    private static final Logger LOG = LogManager.getLogger(TargetCheck.class);

    /** A run that cannot go on with its inputs: every retry would meet it again. */
    public static final class MismatchException extends IOException {
        public MismatchException(String message) {
            super(message);
        }
    }

    /** Differences --allow-target-mismatch lets through. */
    private final List<String> mismatches = new ArrayList<>();
    /** Differences nothing lets through. */
    private final List<String> unusable = new ArrayList<>();
    /** Fields not compared because a manifest does not record them. */
    private final List<String> unrecorded = new ArrayList<>();

    private TargetCheck() {}

    /**
     * Checks {@code job}'s training input (features; online: nothing to check) and validation
     * features against {@code target}.
     *
     * @param report whether to log the warnings (a rank other than 0 repeats what rank 0 says)
     * @return the training input's origin, which checkpoints record
     */
    public static FeatureOrigin require(TrainJob job, TargetFiles target, Configuration conf, boolean report)
            throws IOException {
        TargetCheck check = new TargetCheck();
        String targetName = "target " + job.target();
        FeatureOrigin training;
        String trainingName;
        if (job.online() == null) {
            trainingName = "features " + job.features();
            training = FeatureManifest.read(job.features(), conf).origin();
            FeatureOrigin own = FeatureOrigin.of(target, null, null);
            if (FeatureOrigin.OVERRIDE_TEMPLATE.equals(training.templateSource())) {
                own = own.withoutTemplate(); // a template file given to the features stage: not the target's to know
                if (report) {
                    LOG.info("{} were rendered with a chat template file given to the features stage: not compared"
                            + " with the {}'s own template", trainingName, targetName);
                }
            }
            check.compare(trainingName, training, targetName, own);
        } else {
            FeatureSettings s = job.online().settings();
            training = FeatureOrigin.of(target, s.templateText(), s.auxFor(target.config().numLayers()));
            trainingName = "the online run on " + targetName;
        }
        if (job.validation() != null) {
            String dir = job.validation().features();
            check.compare("validation features " + dir, FeatureManifest.read(dir, conf).origin(), trainingName,
                    training);
        }
        check.enforce(job.allowTargetMismatch(), report);
        return training;
    }

    /** Features {@code a} (called {@code aName}) against what they must match, {@code b}. */
    private void compare(String aName, FeatureOrigin a, String bName, FeatureOrigin b) {
        field("config.json SHA-256", aName, a.configSha256(), bName, b.configSha256(), mismatches);
        field("tokenizer.json SHA-256", aName, a.tokenizerSha256(), bName, b.tokenizerSha256(), mismatches);
        field("chat template", aName, template(a), bName, template(b), mismatches);
        field("hidden size", aName, a.hiddenSize(), bName, b.hiddenSize(), unusable);
        int[] aux = a.auxLayerIds();
        if (aux == null) {
            unusable.add("no aux_layer_ids recorded (" + aName + ")");
        } else if (b.auxLayerIds() != null) {
            if (aux.length != b.auxLayerIds().length) {
                unusable.add(differs("number of aux layers", aName, aux.length, bName, b.auxLayerIds().length));
            } else if (!Arrays.equals(aux, b.auxLayerIds())) {
                mismatches.add(differs("aux layers", aName, Arrays.toString(aux), bName,
                        Arrays.toString(b.auxLayerIds())));
            }
        } else if (b.numLayers() != null && Arrays.stream(aux).anyMatch(i -> i < 0 || i >= b.numLayers())) {
            mismatches.add("aux layers out of range: " + Arrays.toString(aux) + " (" + aName + ") vs hidden-state"
                    + " indices 0 to " + (b.numLayers() - 1) + " (" + bName + ", " + b.numLayers() + " layers)");
        }
    }

    /** A field {@code a} must share with {@code b}; unknown on {@code b}'s side: nothing to compare. */
    private void field(String what, String aName, Object a, String bName, Object b, List<String> into) {
        if (a == null) {
            unrecorded.add("no " + what + " recorded (" + aName + ", an older features version)");
        } else if (b != null && !a.equals(b)) {
            into.add(differs(what, aName, a, bName, b));
        }
    }

    private static String differs(String what, String aName, Object a, String bName, Object b) {
        return "different " + what + ": " + a + " (" + aName + ") vs " + b + " (" + bName + ")";
    }

    /** The template as source and hash; null where either is unknown. */
    private static String template(FeatureOrigin o) {
        return o.templateSource() == null || o.templateSha256() == null ? null
                : o.templateSource() + " template " + o.templateSha256();
    }

    private void enforce(boolean allowMismatch, boolean report) throws MismatchException {
        if (report) {
            unrecorded.forEach(u -> LOG.warn("{}: not checked", u));
        }
        if (!unusable.isEmpty()) {
            List<String> all = new ArrayList<>(unusable);
            all.addAll(mismatches);
            throw new MismatchException("cannot train on this input: " + String.join("; ", all) + ". The draft reads"
                    + " rows of the target's width and aux layers, so --allow-target-mismatch cannot help: make the"
                    + " features with this target");
        }
        if (mismatches.isEmpty()) {
            return;
        }
        if (!allowMismatch) {
            throw new MismatchException("the run's inputs do not match its target: "
                    + String.join("; ", mismatches) + ". Make the features with this target (or train with the"
                    + " target that made them), or give --allow-target-mismatch to train anyway");
        }
        if (report) {
            mismatches.forEach(m -> LOG.warn("target mismatch allowed by --allow-target-mismatch: {}", m));
        }
    }
}
