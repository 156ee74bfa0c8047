package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import dev.eaglespark.model.Ops;
import dev.eaglespark.vocab.DraftVocab;

/**
 * The training targets, made from the target's stored last hidden state with its frozen final
 * norm and lm_head, as the reference trainer makes them: target logits shifted left by one
 * (position t predicts token t+1; the last position gets all-zero logits), then
 * target_p = softmax over the draft vocabulary's columns and position_mask = [the target's
 * argmax over the full vocabulary is in the draft vocabulary] * loss_mask.
 */
public final class SoftLabels implements AutoCloseable {
    private final NDManager manager;
    private final NDArray norm;
    private final NDArray lmHead;
    private final NDArray t2dColumn;
    private final long[] draftIds;
    private final double eps;

    public SoftLabels(NDArray targetNorm, NDArray targetLmHead, double eps, DraftVocab vocab) {
        this.manager = NDManager.newBaseManager(targetLmHead.getDevice());
        this.norm = copy(targetNorm);
        this.lmHead = copy(targetLmHead);
        this.eps = eps;
        float[] t2d = new float[vocab.targetVocabSize()];
        long[] ids = new long[vocab.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.targetId(i);
        }
        for (int v = 0; v < t2d.length; v++) {
            t2d[v] = vocab.t2d()[v] ? 1f : 0f;
        }
        this.t2dColumn = manager.create(t2d).reshape(t2d.length, 1);
        this.draftIds = ids;
    }

    private NDArray copy(NDArray a) {
        return DraftParams.ownCopy(a, manager);
    }

    /** Full-vocabulary target logits of h_last [B, T, Ht]: lm_head(rmsnorm(h_last)), fp32. */
    public NDArray targetLogits(NDArray hLast) {
        return Ops.linear(Ops.rmsNorm(hLast.toType(DataType.FLOAT32, false), norm, eps), lmHead);
    }

    /** target_p [B, T, K] and position_mask [B, T, 1], both for the shifted positions. */
    public Labels labels(NDArray hLast, NDArray lossMask) {
        NDArray logits = Shift.left(targetLogits(hLast), 0f);
        // The ids are made in the caller's scope: embedding's result joins its ids' manager.
        NDArray ids = logits.getManager().create(draftIds);
        NDArray selected = ids.getNDArrayInternal()
                .embedding(ids, logits.reshape(-1, logits.getShape().get(2)).transpose(), SparseFormat.DENSE)
                .singletonOrThrow(); // [K, B*T]: the draft vocabulary's columns
        long b = logits.getShape().get(0);
        long t = logits.getShape().get(1);
        NDArray targetP = selected.transpose().reshape(b, t, -1).softmax(2);
        NDArray top = logits.argMax(2);
        NDArray inVocab = top.getNDArrayInternal().embedding(top, t2dColumn, SparseFormat.DENSE).singletonOrThrow();
        NDArray positionMask = inVocab.mul(lossMask.toType(DataType.FLOAT32, false).expandDims(2));
        return new Labels(targetP, positionMask);
    }

    /** target_p and position_mask of one TTT step. */
    public record Labels(NDArray targetP, NDArray positionMask) {}

    /** The manager holding the frozen weights (tests check nothing else accumulates in it). */
    NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }
}
