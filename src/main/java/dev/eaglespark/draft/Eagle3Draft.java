package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * An EAGLE-3 draft: its shapes and the weights it computes with. fc (3Ht to H) over the fused
 * aux states, one decoder layer reading concat(input_layernorm(embed(ids)), hidden_norm(h)) with
 * h as the residual, norm, lm_head. Its math is written once, in {@link DraftFragments}, and runs
 * as the train-time-test script in training ({@link TrainTimeTest}) and as the step scripts in
 * speculative decoding ({@link DraftInference}).
 */
public final class Eagle3Draft {
    private final DraftConfig cfg;
    private final DraftParams p;

    public Eagle3Draft(DraftConfig cfg, DraftParams params) {
        this.cfg = cfg;
        this.p = params;
    }

    public DraftConfig config() {
        return cfg;
    }

    /** A weight by its serving name, as this draft computes with it. */
    public NDArray weight(String name) {
        return p.get(name);
    }

    /** The weights in the order the draft scripts take them ({@link DraftFragments#WEIGHTS}). */
    NDList weights() {
        NDList out = new NDList();
        for (String w : DraftFragments.WEIGHTS) {
            out.add(p.get(w));
        }
        return out;
    }
}
