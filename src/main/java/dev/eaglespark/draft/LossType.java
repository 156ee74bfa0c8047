package dev.eaglespark.draft;

import java.util.Locale;

/** The per-step distillation loss. */
public enum LossType {
    /** -sum target_p * log p_draft (cross-entropy to the target's distribution). */
    FORWARD_KL,
    /** sum p_draft * (log p_draft - log target_p), the shared-head variant's choice. */
    REVERSE_KL;

    public static LossType parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "forward_kl", "forward", "fkl" -> FORWARD_KL;
            case "reverse_kl", "reverse", "rkl" -> REVERSE_KL;
            default -> throw new IllegalArgumentException("loss must be forward_kl or reverse_kl, got '" + s + "'");
        };
    }
}
