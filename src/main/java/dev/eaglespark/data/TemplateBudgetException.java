package dev.eaglespark.data;

/** A render went past one of its {@link TemplateLimits}; the message names the budget. */
public final class TemplateBudgetException extends TemplateException {
    public TemplateBudgetException(String message) {
        super(message);
    }
}
