package dev.eaglespark.spec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.draft.Eagle3Draft;
import dev.eaglespark.model.Attention;
import dev.eaglespark.model.KvCache;
import dev.eaglespark.model.RopePrecision;
import dev.eaglespark.model.RotaryEmbedding;
import dev.eaglespark.vocab.DraftVocab;
import java.util.ArrayList;
import java.util.List;

/**
 * An EAGLE-3 draft as proposer: each verified position enters its cache as a step-0 position
 * (embedding of the next token with fc of the target's states); a chain of draft tokens then
 * follows from the last position, each step reading the previous step's output, at rope
 * positions p, p+1, ... exactly as training's test-time steps do.
 */
public final class EagleProposer implements Proposer {
    private final Eagle3Draft draft;
    private final DraftVocab vocab;
    private final RotaryEmbedding rope;
    private final NDManager manager;
    private final KvCache cache;
    private NDArray lastHidden;

    public EagleProposer(Eagle3Draft draft, DraftVocab vocab, NDManager parent) {
        this.draft = draft;
        this.vocab = vocab;
        this.rope = new RotaryEmbedding(draft.config().rope(), draft.config().headDim(), RopePrecision.FP32);
        this.manager = parent.newSubManager();
        this.cache = new KvCache(parent.getDevice(), 1);
    }

    @Override
    public void observe(long[] tokens, NDArray aux) {
        int n = tokens.length;
        try (NDManager scope = manager.newSubManager()) {
            NDArray ids = scope.create(tokens, new Shape(1, n));
            NDArray h = draft.project(aux.toType(DataType.FLOAT32, false).duplicate());
            h.attach(scope);
            long start = cache.length();
            NDList cs = rope.table(scope, start, n, DataType.FLOAT32, false);
            NDArray out = draft.extend(draft.embed(ids), h, cs.get(0), cs.get(1), Attention.afterCacheBias(scope, start, n,
                    DataType.FLOAT32), cache);
            NDArray last = out.get(":, {}:", n - 1).duplicate();
            last.attach(manager);
            if (lastHidden != null) {
                lastHidden.close();
            }
            lastHidden = last;
        }
    }

    @Override
    public long[] propose(int k) {
        long[] out = new long[k];
        try (NDManager scope = manager.newSubManager()) {
            NDArray h = lastHidden.duplicate();
            h.attach(scope);
            NDList cached = cache.cached(0, scope);
            List<NDArray> keys = new ArrayList<>(List.of(cached.get(0)));
            List<NDArray> values = new ArrayList<>(List.of(cached.get(1)));
            out[0] = next(draft.logits(h));
            long length = cache.length();
            NDArray noMask = scope.zeros(new Shape(1, 1, 1, 1, length));
            for (int j = 1; j < k; j++) {
                NDList cs = rope.table(scope, length - 1 + j, 1, DataType.FLOAT32, false);
                NDArray ids = scope.create(new long[] {out[j - 1]}, new Shape(1, 1));
                h = draft.step(draft.embed(ids), h, cs.get(0), cs.get(1), noMask, keys, values);
                out[j] = next(draft.logits(h));
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
        cache.close();
        manager.close();
    }
}
