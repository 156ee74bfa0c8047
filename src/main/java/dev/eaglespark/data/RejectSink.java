package dev.eaglespark.data;

/** Where rejected records go. Implementations: {@link JsonlRejectWriter}, {@link RejectCounts}. */
@FunctionalInterface
public interface RejectSink {
    void reject(Reject reject);

    /** Sends each reject to both sinks (typically a file and the counts). */
    static RejectSink both(RejectSink a, RejectSink b) {
        return r -> {
            a.reject(r);
            b.reject(r);
        };
    }
}
