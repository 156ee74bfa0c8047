package dev.eaglespark.collective;

/** A collective operation or the ring set-up failed; the group is unusable afterwards. */
public class CollectiveException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CollectiveException(String message) {
        super(message);
    }

    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
