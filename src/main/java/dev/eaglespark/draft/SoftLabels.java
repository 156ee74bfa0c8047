package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.vocab.DraftVocab;

/**
 * What the training targets are made of: the target's frozen final norm and lm_head in the
 * compute dtype, and the draft vocabulary's mapping, on the device. As the reference trainer
 * makes them, target logits = lm_head(rmsnorm(stored last hidden state)) shifted left by one
 * (position t predicts token t+1; the last position gets all-zero logits), target_p = softmax
 * over the draft vocabulary's columns in fp32 and position_mask = [the target's argmax over the
 * full vocabulary is in the draft vocabulary] * loss_mask. {@link ChunkedHeadLoss} makes them a
 * chunk of positions at a time, never for a whole sequence: full-vocabulary fp32 logits of 2048
 * tokens at 128k vocabulary would be 1 GB.
 */
public final class SoftLabels implements AutoCloseable {
    private final NDManager manager;
    private final NDArray norm;
    private final NDArray lmHead;
    private final NDArray inVocab;
    private final NDArray draftIds;
    private final double eps;

    public SoftLabels(NDArray targetNorm, NDArray targetLmHead, double eps, DraftVocab vocab) {
        this(targetNorm, targetLmHead, eps, vocab, DataType.FLOAT32);
    }

    /** With the lm_head product in {@code compute} (fp16 or fp32). */
    public SoftLabels(NDArray targetNorm, NDArray targetLmHead, double eps, DraftVocab vocab, DataType compute) {
        this.manager = NDManager.newBaseManager(targetLmHead.getDevice());
        this.norm = DraftParams.ownCopy(targetNorm, manager, compute);
        this.lmHead = DraftParams.ownCopy(targetLmHead, manager, compute);
        this.eps = eps;
        float[] t2d = new float[vocab.targetVocabSize()];
        long[] ids = new long[vocab.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.targetId(i);
        }
        for (int v = 0; v < t2d.length; v++) {
            t2d[v] = vocab.t2d()[v] ? 1f : 0f;
        }
        // On the device once: an upload per chunk would wait for the GPU.
        this.inVocab = manager.create(t2d);
        this.draftIds = manager.create(ids);
    }

    /** The target's final norm weight [Ht]. */
    NDArray norm() {
        return norm;
    }

    /** The target's lm_head [Vt, Ht]. */
    NDArray head() {
        return lmHead;
    }

    double eps() {
        return eps;
    }

    long targetVocabSize() {
        return lmHead.getShape().get(0);
    }

    /** The draft vocabulary's target ids [K], ascending. */
    NDArray draftIds() {
        return draftIds;
    }

    /** 1 for target ids in the draft vocabulary, else 0 [Vt] (fp32). */
    NDArray inVocab() {
        return inVocab;
    }

    /** The manager holding the frozen weights (tests check nothing else accumulates in it). */
    NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }
}
