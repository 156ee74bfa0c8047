package dev.eaglespark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.collective.Collective;
import dev.eaglespark.data.JsonlRejectWriter;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.RejectReason;
import dev.eaglespark.data.RejectSink;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * One rank's rejects in online training, kept with the checkpoints: held in memory and written at
 * each checkpoint to {@code <checkpoints>/_rejects/rank-RRRRR-step-SSSSSSSS.jsonl}, before the
 * checkpoint commits. A run resumed from a checkpoint replays the same records to the same later
 * checkpoints and rewrites the same files, so every reject is on file once. The counts per
 * reason, summed over the ranks, go into each checkpoint's state.json and continue from there.
 */
final class TrainingRejects implements RejectSink {
    static final String DIR = "_rejects";

    private final List<Reject> unwritten = new ArrayList<>();
    private final RejectCounts counts = new RejectCounts();

    @Override
    public synchronized void reject(Reject r) {
        unwritten.add(r);
        counts.reject(r);
    }

    /** Counts carried over from a checkpoint (every rank's together: give them to one rank only). */
    void restore(RejectCounts saved) {
        counts.merge(saved);
    }

    /** Writes the rejects since the last checkpoint (a file only when there are some). */
    synchronized void write(String checkpoints, int rank, long step, Configuration conf) throws IOException {
        if (unwritten.isEmpty()) {
            return;
        }
        Path p = new Path(new Path(checkpoints, DIR), String.format("rank-%05d-step-%08d.jsonl", rank, step));
        try (JsonlRejectWriter w = new JsonlRejectWriter(new OutputStreamWriter(p.getFileSystem(conf).create(p, true),
                StandardCharsets.UTF_8))) {
            unwritten.forEach(w::reject);
        }
        unwritten.clear();
    }

    /** Every rank's counts summed, on every rank (all ranks call this at the same steps). */
    synchronized RejectCounts total(Collective group) {
        RejectReason[] reasons = RejectReason.values();
        long[] mine = new long[reasons.length];
        for (int i = 0; i < reasons.length; i++) {
            mine[i] = counts.get(reasons[i]);
        }
        long[] all = group.allReduceSum(mine);
        RejectCounts out = new RejectCounts();
        for (int i = 0; i < reasons.length; i++) {
            if (all[i] > 0) {
                out.add(reasons[i], all[i]);
            }
        }
        return out;
    }

    /** Counts as state.json keeps them: {reason code: count}. */
    static ObjectNode toJson(RejectCounts counts) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        counts.asMap().forEach((reason, n) -> out.put(reason.code(), n));
        return out;
    }

    /** The counts of {@link #toJson}; none for a missing node (a checkpoint of offline training). */
    static RejectCounts fromJson(JsonNode node) {
        RejectCounts out = new RejectCounts();
        for (RejectReason r : RejectReason.values()) {
            if (node.has(r.code())) {
                out.add(r, node.get(r.code()).asLong());
            }
        }
        return out;
    }
}
