package dev.eaglespark.data;

/** A chat template could not be rendered for a conversation (syntax, {@code raise_exception}, ...). */
public class TemplateException extends RuntimeException {
    public TemplateException(String message) {
        super(message);
    }
}
