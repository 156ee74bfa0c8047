package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.collective.Collective;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Where a run starts: rank 0 loads the newest committed checkpoint that can be read (a newer
 * one that cannot is reported by its path, moved aside and the next older one used: loud, never
 * silent) and tells the other ranks which, so all load the same one. A checkpoint of another
 * kind of run (vocabulary, draft config, target, loss, head, shapes) is refused, not skipped.
 */
final class CheckpointResume {
    private static final Logger LOG = LogManager.getLogger(CheckpointResume.class);

    /** The checkpoint loaded into the weights and optimizer, and its state. */
    record Resumed(Path checkpoint, Checkpoints.State state) {}

    private CheckpointResume() {}

    /** Loads the starting checkpoint on every rank; null for a fresh start. */
    static Resumed load(boolean resume, Checkpoints ckpts, Collective group, Map<String, NDArray> weights,
                        AdamW optimizer, CheckpointCompatibility compatibility, NDManager parent) throws IOException {
        String chosen = "";
        Checkpoints.State state = null;
        if (group.rank() == 0 && ckpts.startingPoint(resume) != null) {
            List<String> unreadable = new ArrayList<>();
            for (Path ck : ckpts.committed()) {
                try (NDManager scratch = parent.newSubManager()) { // the read arrays are copied in
                    state = ckpts.load(ck, weights, optimizer, scratch, compatibility);
                    chosen = ck.toString();
                    break;
                } catch (CheckpointCompatibility.MismatchException e) {
                    throw e;
                } catch (IOException | RuntimeException e) {
                    unreadable.add(ck + " (" + e.getMessage() + ")");
                    LOG.error("checkpoint {} cannot be read: {}. Falling back to the previous committed checkpoint;"
                            + " this one is moved aside to {}", ck, e.getMessage(), setAside(ckpts, ck));
                }
            }
            if (chosen.isEmpty()) {
                throw new IOException("no committed checkpoint can be read: " + String.join("; ", unreadable));
            }
            if (!unreadable.isEmpty()) {
                LOG.error("resuming from {}, older than {} checkpoint(s) that could not be read; the updates since"
                        + " are trained again", chosen, unreadable.size());
            }
        }
        byte[] bytes = group.broadcast(chosen.getBytes(StandardCharsets.UTF_8));
        String path = new String(bytes, StandardCharsets.UTF_8);
        if (path.isEmpty()) {
            return null;
        }
        Path ck = new Path(path);
        if (group.rank() != 0) {
            try (NDManager scratch = parent.newSubManager()) {
                state = ckpts.load(ck, weights, optimizer, scratch, compatibility);
            }
        }
        return new Resumed(ck, state);
    }

    private static String setAside(Checkpoints ckpts, Path ck) {
        try {
            return ckpts.setAside(ck).toString();
        } catch (IOException e) {
            return "nowhere (" + e.getMessage() + ")";
        }
    }
}
