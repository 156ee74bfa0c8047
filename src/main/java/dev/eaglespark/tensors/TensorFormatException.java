package dev.eaglespark.tensors;

/** A tensor file that is missing, truncated, corrupt, or does not hold what was asked for. */
public class TensorFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TensorFormatException(String message) {
        super(message);
    }

    public TensorFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
