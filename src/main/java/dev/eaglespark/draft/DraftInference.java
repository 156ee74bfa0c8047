package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.model.Attention;
import dev.eaglespark.model.KvCache;
import dev.eaglespark.model.RopeCache;
import dev.eaglespark.model.RopePrecision;
import dev.eaglespark.model.RotaryEmbedding;

/**
 * A draft decoding one sequence, in fp32: each verified position enters its KV cache as a step-0
 * position ({@link #observe}), and a {@link Chain} then runs steps 1, 2, ... from the last one,
 * each reading the previous step's output and token, as training's train-time-test steps do.
 * Both run the draft scripts of {@link DraftStepScripts}, made of the methods training runs.
 */
public final class DraftInference implements AutoCloseable {
    private final Eagle3Draft draft;
    private final DraftStepScripts scripts;
    private final NDManager manager;
    private final KvCache cache;
    private final RopeCache rope;
    private NDManager lastScope;
    private NDList last; // the last observed position's output [1, 1, H] and step-0 logits [1, 1, V]

    /** @param parent the manager whose device the draft's weights are on; this session's arrays live below it */
    public DraftInference(Eagle3Draft draft, NDManager parent) {
        this.draft = draft;
        this.scripts = new DraftStepScripts(draft.config());
        this.manager = parent.newSubManager();
        this.cache = new KvCache(parent.getDevice(), 1);
        DraftConfig c = draft.config();
        this.rope = new RopeCache(new RotaryEmbedding(c.rope(), c.headDim(), RopePrecision.FP32),
                manager.newSubManager());
    }

    /**
     * The target has verified n more positions: {@code tokens} [n] are the tokens after positions
     * p..p+n-1 and {@code aux} [1, n, numAux x Ht] the target's fused states at those positions.
     * Returns the step-0 logits [draft vocab] of the last one, p+n-1 (the first draft token's),
     * valid until the next call.
     */
    public NDArray observe(long[] tokens, NDArray aux) {
        int n = tokens.length;
        long start = cache.length();
        NDManager scope = manager.newSubManager();
        try (NDManager tmp = manager.newSubManager()) {
            NDArray ids = tmp.create(tokens, new Shape(1, n));
            NDArray states = aux.toType(DataType.FLOAT32, false).duplicate();
            states.attach(tmp);
            NDList table = rope.fromZero(tmp, (int) start + n, DataType.FLOAT32);
            NDList buffers = cache.reserve(0, new Shape(1, draft.config().numKvHeads(), n, draft.config().headDim()),
                    DataType.FLOAT32);
            NDList out = scripts.extend(ids, states, table.get(0), table.get(1),
                    Attention.afterCacheBias(tmp, start, n, DataType.FLOAT32), buffers.get(0), buffers.get(1), draft);
            out.attach(scope);
            if (lastScope != null) {
                lastScope.close();
            }
            lastScope = scope;
            last = out;
            return out.get(1).reshape(-1);
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    /** A chain of draft steps from the last observed position; close it before the next {@link #observe}. */
    public Chain chain() {
        if (last == null) {
            throw new IllegalStateException("nothing observed yet: the chain starts from the last verified position");
        }
        return new Chain();
    }

    /**
     * Steps 1, 2, ... from the last verified position p. Each step takes the token the one before
     * it proposed (the first: the token step 0 proposed) and returns its logits.
     */
    public final class Chain implements AutoCloseable {
        private final NDManager scope = manager.newSubManager();
        private final NDList cached = cache.cached(0, scope);
        private NDArray h = last.get(0);
        private NDArray ownKeys;
        private NDArray ownValues;

        private Chain() {
            Shape none = new Shape(1, draft.config().numKvHeads(), 0, draft.config().headDim());
            ownKeys = scope.zeros(none, DataType.FLOAT32);
            ownValues = scope.zeros(none, DataType.FLOAT32);
        }

        /** The next step's logits [draft vocab] given the token (a target id) the previous step proposed. */
        public NDArray next(long token) {
            long position = cache.length() - 1 + ownKeys.getShape().get(2) + 1;
            NDList table = rope.fromZero(scope, (int) position + 1, DataType.FLOAT32);
            NDList out = scripts.chain(scope.create(new long[] {token}, new Shape(1, 1)), h, table.get(0),
                    table.get(1), cached.get(0), cached.get(1), ownKeys, ownValues, draft);
            out.attach(scope);
            h = out.get(0);
            ownKeys = out.get(2);
            ownValues = out.get(3);
            return out.get(1).reshape(-1);
        }

        @Override
        public void close() {
            scope.close();
        }
    }

    @Override
    public void close() {
        cache.close();
        manager.close();
    }
}
