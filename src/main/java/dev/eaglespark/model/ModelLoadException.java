package dev.eaglespark.model;

/** A model directory that cannot be loaded: missing file, bad config, wrong shapes. */
public class ModelLoadException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
