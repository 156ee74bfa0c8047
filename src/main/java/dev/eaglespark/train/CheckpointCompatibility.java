package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.LossType;
import dev.eaglespark.features.FeatureOrigin;
import dev.eaglespark.io.Digests;
import dev.eaglespark.vocab.DraftVocab;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;

/**
 * What a checkpoint can only be resumed with: the draft's config, its vocabulary (a hash of
 * t2d and d2t: a row of lm_head means the token it was trained for), the target (the hashes of
 * its config.json and tokenizer.json as the features manifest records them), the loss and the head choice.
 * Saved in every checkpoint's state and compared on resume, before any weight is touched;
 * every tensor's shape is compared too. A mismatch refuses the resume naming both sides.
 */
public final class CheckpointCompatibility {
    /** The key of the identity in a checkpoint's {@code extra} state. */
    public static final String KEY = "identity";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ObjectNode identity;

    private CheckpointCompatibility(ObjectNode identity) {
        this.identity = identity;
    }

    /** Thrown when a checkpoint cannot continue this run (never a reason to fall back to an older one). */
    public static final class MismatchException extends IOException {
        public MismatchException(String message) {
            super(message);
        }
    }

    /**
     * @param origin what made the training input ({@link TargetCheck}): its target's hashes
     *     identify the target
     */
    public static CheckpointCompatibility of(DraftConfig cfg, DraftVocab vocab, FeatureOrigin origin,
                                             boolean sharedHead, LossType loss) {
        ObjectNode id = JSON.createObjectNode();
        id.set("draft_config", JSON.valueToTree(cfg));
        ObjectNode v = id.putObject("vocabulary");
        v.put("draft_size", vocab.size());
        v.put("target_size", vocab.targetVocabSize());
        v.put("sha256", vocabHash(vocab));
        // As manifests name them; "" where one does not record them.
        id.putObject("target").put("config_sha256", Objects.requireNonNullElse(origin.configSha256(), ""))
                .put("tokenizer_sha256", Objects.requireNonNullElse(origin.tokenizerSha256(), ""));
        id.put("loss", loss.name());
        id.put("shared_head", sharedHead);
        return new CheckpointCompatibility(id);
    }

    /** Records this run's identity in a checkpoint's extra state. */
    public void record(ObjectNode extra) {
        extra.set(KEY, identity);
    }

    /**
     * Refuses a checkpoint written by a run this one cannot continue. A checkpoint written
     * before identities were recorded is checked by its shapes alone.
     */
    public void require(Path ck, JsonNode extra) throws MismatchException {
        JsonNode saved = extra == null ? null : extra.get(KEY);
        if (saved == null) {
            return;
        }
        List<String> diffs = new ArrayList<>();
        compare("", saved, identity, diffs);
        if (!diffs.isEmpty()) {
            throw new MismatchException("checkpoint " + ck + " cannot be resumed by this run: " + String.join("; ", diffs)
                    + ". Resume with the settings it was trained with, or start a fresh run in another"
                    + " --checkpoints directory");
        }
    }

    /** Every saved tensor must exist in this run with the same shape, and the other way round. */
    public static void requireShapes(Path file, Map<String, NDArray> expected, Map<String, NDArray> saved,
                                     String prefix) throws MismatchException {
        List<String> diffs = new ArrayList<>();
        TreeSet<String> names = new TreeSet<>(expected.keySet());
        saved.keySet().forEach(k -> names.add(k.substring(prefix.length())));
        for (String name : names) {
            NDArray want = expected.get(name);
            NDArray have = saved.get(prefix + name);
            if (want == null) {
                diffs.add(prefix + name + " is in the checkpoint but not in this run's draft");
            } else if (have == null) {
                diffs.add(prefix + name + " is missing from the checkpoint");
            } else if (!want.getShape().equals(have.getShape())) {
                diffs.add(prefix + name + ": checkpoint " + have.getShape() + ", this run " + want.getShape());
            }
        }
        if (!diffs.isEmpty()) {
            throw new MismatchException(file + " does not fit this run's draft: " + String.join("; ", diffs)
                    + " (another vocabulary or target?)");
        }
    }

    private static void compare(String path, JsonNode saved, JsonNode mine, List<String> diffs) {
        if (saved.isObject() && mine.isObject()) {
            TreeSet<String> keys = new TreeSet<>();
            saved.fieldNames().forEachRemaining(keys::add);
            mine.fieldNames().forEachRemaining(keys::add);
            for (String k : keys) {
                JsonNode a = saved.get(k);
                JsonNode b = mine.get(k);
                String p = path.isEmpty() ? k : path + "." + k;
                if (a == null || b == null) {
                    diffs.add(p + ": checkpoint " + a + ", this run " + b);
                } else {
                    compare(p, a, b, diffs);
                }
            }
        } else if (!saved.equals(mine)) {
            diffs.add(path + ": checkpoint " + saved + ", this run " + mine);
        }
    }

    private static String vocabHash(DraftVocab v) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (boolean b : v.t2d()) {
            bytes.write(b ? 1 : 0);
        }
        for (long d : v.d2t()) {
            for (int i = 0; i < 8; i++) {
                bytes.write((int) (d >>> (8 * i)));
            }
        }
        try {
            return Digests.of(new java.io.ByteArrayInputStream(bytes.toByteArray()), Long.MAX_VALUE, "SHA-256");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
