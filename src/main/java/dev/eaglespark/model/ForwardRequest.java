package dev.eaglespark.model;

import java.util.Arrays;

/**
 * What a forward pass returns besides nothing: hidden states by transformers' index (0 = the
 * embeddings, i = the output of layer i-1, i.e. the input of layer i), the last hidden state
 * before the final norm, the state after it, and logits.
 */
public record ForwardRequest(int[] hiddenIndices, boolean lastHidden, boolean normedHidden, boolean logits) {

    public ForwardRequest {
        hiddenIndices = hiddenIndices.clone();
    }

    /** The fused aux states and the last hidden state: what stage 1 stores. */
    public static ForwardRequest features(int... auxIndices) {
        return new ForwardRequest(auxIndices, true, false, false);
    }

    /** Only the last hidden state (before the final norm). */
    public static ForwardRequest lastHiddenOnly() {
        return new ForwardRequest(new int[0], true, false, false);
    }

    public static ForwardRequest logitsOnly() {
        return new ForwardRequest(new int[0], false, false, true);
    }

    /** Every hidden state in transformers' layout plus logits (for dumps and tests). */
    public static ForwardRequest everything(int numLayers) {
        int[] all = new int[numLayers];
        Arrays.setAll(all, i -> i);
        return new ForwardRequest(all, true, true, true);
    }

    boolean wants(int index) {
        for (int i : hiddenIndices) {
            if (i == index) {
                return true;
            }
        }
        return false;
    }
}
