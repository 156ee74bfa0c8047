package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.model.Ops;
import dev.eaglespark.model.ScriptModule;
import dev.eaglespark.vocab.DraftVocab;

/**
 * The training targets, made from the target's stored last hidden state with its frozen final
 * norm and lm_head, as the reference trainer makes them: target logits shifted left by one
 * (position t predicts token t+1; the last position gets all-zero logits), then
 * target_p = softmax over the draft vocabulary's columns and position_mask = [the target's
 * argmax over the full vocabulary is in the draft vocabulary] * loss_mask.
 *
 * <p>Computed in chunks of tokens: full-vocabulary fp32 logits of 2048 tokens at 128k
 * vocabulary would be 1 GB per sequence. Each chunk's lm_head product runs in the compute
 * dtype, its softmax in fp32; no gradients are recorded.
 */
public final class SoftLabels implements AutoCloseable {
    /** fp32 logits per chunk: 256 MiB (512 tokens at 128k vocabulary). */
    static final long CHUNK_LOGITS = 1L << 26;

    private final NDManager manager;
    private final NDArray norm;
    private final NDArray lmHead;
    private final NDArray t2dColumn;
    private final NDArray draftIds;
    private final double eps;
    private final long chunkTokens;
    private final float firstInVocab;

    public SoftLabels(NDArray targetNorm, NDArray targetLmHead, double eps, DraftVocab vocab) {
        this(targetNorm, targetLmHead, eps, vocab, DataType.FLOAT32);
    }

    /** With the lm_head product in {@code compute} (fp16 or fp32). */
    public SoftLabels(NDArray targetNorm, NDArray targetLmHead, double eps, DraftVocab vocab, DataType compute) {
        this(targetNorm, targetLmHead, eps, vocab, compute,
                Math.max(1, CHUNK_LOGITS / targetLmHead.getShape().get(0)));
    }

    SoftLabels(NDArray targetNorm, NDArray targetLmHead, double eps, DraftVocab vocab, DataType compute,
               long chunkTokens) {
        this.manager = NDManager.newBaseManager(targetLmHead.getDevice());
        this.norm = DraftParams.ownCopy(targetNorm, manager, compute);
        this.lmHead = DraftParams.ownCopy(targetLmHead, manager, compute);
        this.eps = eps;
        this.chunkTokens = chunkTokens;
        float[] t2d = new float[vocab.targetVocabSize()];
        long[] ids = new long[vocab.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.targetId(i);
        }
        for (int v = 0; v < t2d.length; v++) {
            t2d[v] = vocab.t2d()[v] ? 1f : 0f;
        }
        this.t2dColumn = manager.create(t2d).reshape(t2d.length, 1);
        this.draftIds = manager.create(ids); // on the device once: an upload per chunk would wait for the GPU
        this.firstInVocab = t2d[0];
    }

    /** Full-vocabulary target logits of h_last [..., Ht]: lm_head(rmsnorm(h_last)), in the compute dtype. */
    private NDArray targetLogits(NDArray hLast) {
        return Ops.linear(Ops.rmsNorm(hLast.toType(lmHead.getDataType(), false), norm, eps), lmHead);
    }

    /** target_p [B, T, K] and position_mask [B, T, 1], both for the shifted positions. */
    public Labels labels(NDArray hLast, NDArray lossMask) {
        long b = hLast.getShape().get(0);
        long t = hLast.getShape().get(1);
        NDArray rows = hLast.reshape(b * t, -1);
        NDList probs = new NDList();
        NDList inVocab = new NDList();
        for (long start = 0; start < b * t; start += chunkTokens) {
            NDArray[] chunk = chunk(rows.get("{}:{}", start, Math.min(b * t, start + chunkTokens)));
            probs.add(chunk[0]);
            inVocab.add(chunk[1]);
        }
        // Shifted left by one: the last position's logits are zeros in the reference, so its
        // target_p is uniform and its argmax is target id 0.
        int k = (int) draftIds.size();
        NDArray targetP = Shift.left(Ops.concat(probs, 0).reshape(b, t, k), 1f / k);
        NDArray top = Shift.left(Ops.concat(inVocab, 0).reshape(b, t, 1), firstInVocab);
        NDArray positionMask = top.mul(lossMask.toType(DataType.FLOAT32, false).expandDims(2));
        return new Labels(targetP, positionMask);
    }

    /**
     * One chunk of rows [C, Ht]: softmax over the draft vocabulary's logits [C, K] (fp32) and
     * whether the full-vocabulary argmax is in the draft vocabulary [C, 1]. The logits stay in
     * the compute dtype: the argmax of their fp32 copies is the same, and the softmax casts the
     * selected columns itself, so no fp32 copy of the full-vocabulary logits is made. The chunk's
     * intermediates are freed before the next one; the results join the rows' manager.
     */
    private NDArray[] chunk(NDArray rows) {
        NDManager caller = rows.getManager();
        try (NDManager scope = caller.newSubManager()) {
            rows.attach(scope);
            NDList r = SELECT.forward(new NDList(targetLogits(rows), draftIds, t2dColumn));
            r.attach(caller);
            return new NDArray[] {r.get(0), r.get(1)};
        }
    }

    /** (softmax over the draft columns in fp32 [C, K], t2d of the full-vocabulary argmax [C, 1]). */
    private static final ScriptModule SELECT = ScriptModule.of("SoftLabelChunk", """
              def forward(self: __torch__.SoftLabelChunk, logits: Tensor, ids: Tensor, t2d: Tensor) -> Tuple[Tensor, Tensor]:
                p = torch.softmax(torch.index_select(logits, 1, ids), 1, 6)
                return (p, torch.index_select(t2d, 0, torch.argmax(logits, 1)))
            """);

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
