package dev.eaglespark.data;

/** A record that cannot become a sample, and why. Caught per record; never stops a job. */
public class RejectedException extends Exception {
    private final RejectReason reason;

    public RejectedException(RejectReason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public RejectReason reason() {
        return reason;
    }
}
