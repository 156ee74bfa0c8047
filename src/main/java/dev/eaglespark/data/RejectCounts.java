package dev.eaglespark.data;

import java.io.Serializable;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;

/** Rejects per reason, to report at the end of a job. Serializable and mergeable across tasks. */
public final class RejectCounts implements RejectSink, Serializable {
    private static final long serialVersionUID = 1L;
    private final EnumMap<RejectReason, Long> counts = new EnumMap<>(RejectReason.class);

    @Override
    public synchronized void reject(Reject reject) {
        add(reject.reason(), 1);
    }

    public synchronized void add(RejectReason reason, long n) {
        counts.merge(reason, n, Long::sum);
    }

    public synchronized void merge(RejectCounts other) {
        other.asMap().forEach(this::add);
    }

    public synchronized long get(RejectReason reason) {
        return counts.getOrDefault(reason, 0L);
    }

    public synchronized long total() {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    public synchronized Map<RejectReason, Long> asMap() {
        return new EnumMap<>(counts);
    }

    /** e.g. {@code 3 rejected: malformed_json=2, one_sided=1}. */
    @Override
    public synchronized String toString() {
        return total() + " rejected" + (counts.isEmpty() ? "" : ": " + counts.entrySet().stream()
                .map(e -> e.getKey().code() + "=" + e.getValue()).collect(Collectors.joining(", ")));
    }
}
