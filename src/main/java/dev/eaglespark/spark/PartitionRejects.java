package dev.eaglespark.spark;

import dev.eaglespark.data.JsonlRejectWriter;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.RejectSink;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * A task's rejects: one JSONL file per partition under {@code _rejects/} (a retried task
 * overwrites its own file, so nothing is counted twice) and the counts per reason.
 */
final class PartitionRejects implements RejectSink, AutoCloseable {
    private final JsonlRejectWriter file;
    private final RejectCounts counts = new RejectCounts();

    PartitionRejects(String rejectsDir, Configuration conf, int partition) throws IOException {
        Path p = new Path(rejectsDir, String.format("part-%05d.jsonl", partition));
        file = new JsonlRejectWriter(new OutputStreamWriter(p.getFileSystem(conf).create(p, true),
                StandardCharsets.UTF_8));
    }

    @Override
    public void reject(Reject r) {
        file.reject(r);
        counts.reject(r);
    }

    /** Counts by reason code, for the job's report. */
    Map<String, Long> byCode() {
        Map<String, Long> out = new LinkedHashMap<>();
        counts.asMap().forEach((reason, n) -> out.put(reason.code(), n));
        return out;
    }

    /** Sums per-task counts on the driver. */
    static Map<String, Long> merge(Iterable<Map<String, Long>> perTask) {
        Map<String, Long> total = new LinkedHashMap<>();
        perTask.forEach(m -> m.forEach((k, v) -> total.merge(k, v, Long::sum)));
        return total;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
