package dev.eaglespark.speculative;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.draft.DraftInference;
import dev.eaglespark.draft.Eagle3Draft;
import dev.eaglespark.vocab.DraftVocab;

/**
 * An EAGLE-3 draft as proposer: each verified position enters the draft's cache as a step-0
 * position (embedding of the next token with fc of the target's states); a chain of draft tokens
 * then follows from the last position, each step reading the previous step's output and token,
 * at rope positions p+1, p+2, ... exactly as training's train-time-test steps do (the same
 * scripts: {@link DraftInference}). Greedy: each step's token is its argmax, mapped to a target id.
 */
public final class EagleProposer implements Proposer {
    private final DraftInference draft;
    private final DraftVocab vocab;
    private long first;

    public EagleProposer(Eagle3Draft draft, DraftVocab vocab, NDManager parent) {
        this.draft = new DraftInference(draft, parent);
        this.vocab = vocab;
    }

    @Override
    public void observe(long[] tokens, NDArray aux) {
        first = next(draft.observe(tokens, aux));
    }

    @Override
    public long[] propose(int k) {
        long[] out = new long[k];
        out[0] = first;
        try (DraftInference.Chain chain = draft.chain()) {
            for (int j = 1; j < k; j++) {
                out[j] = next(chain.next(out[j - 1]));
            }
        }
        return out;
    }

    /** Draft ids map to target ids through d2t. */
    private long next(NDArray logits) {
        int draftId = (int) logits.argMax(-1).toType(DataType.INT64, false).toLongArray()[0];
        return vocab.targetId(draftId);
    }

    @Override
    public void close() {
        draft.close();
    }
}
