package dev.eaglespark.cli;

/** A command line that cannot be run as written; the message says what to change. */
public class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
