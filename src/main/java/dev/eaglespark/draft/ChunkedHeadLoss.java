package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.List;
import java.util.Map;

/**
 * The draft's lm_head, the loss and accuracy of every train-time-test step and the gradient they
 * send back ({@code scripts/draft/chunked-head-loss.torchscript}), a chunk of positions at a time,
 * as fused linear-cross-entropy kernels do it: no logits or soft labels of a whole sequence ever
 * exist, only those of one chunk (256 MiB of fp32 logits of the wider vocabulary by default: 523
 * tokens at 128,256).
 *
 * <p>The autograd graph of the TTT forward ends at each step's h_out. Here, outside autograd,
 * each chunk's rows go through the draft's final norm (the RMSNorm every script runs,
 * {@code scripts/norm.torchscript}) and lm_head, and the draft logits z give the loss and, in closed form,
 * dL/dz; then
 * dL/dhn = dL/dz @ lm_head, for a trained head dL/dlm_head += dL/dz^T @ hn, and through the norm
 * (hn = w * fp16(x r), r = rsqrt(mean(x^2) + eps), in fp32) dL/dw += sum(dL/dhn * fp16(x r)) and
 * dL/dx = r g - x r^3 sum(g x) / H with g = fp32(dL/dhn * w): what autograd computes through
 * those ops, without keeping the norm's fp32 copy of every step's output for the backward. The
 * graph is closed by the surrogate sum_k sum(h_out_k * G_k) + sum(w * dW_norm)
 * (+ sum(lm_head * dW)), whose backward hands each leaf exactly its gradient. With N = B*T, per
 * position and step
 * (mask = position mask, p_t the target's soft labels, p_s = softmax(z)):
 * <ul>
 *   <li>forward KL, L = -mask * sum_v p_t log p_s / N: dL/dz = mask * (p_s - p_t) / N
 *       (log-softmax's backward gives p_s * sum_v p_t - p_t, and the soft labels sum to 1 up to
 *       fp32 rounding);</li>
 *   <li>reverse KL, L = mask * sum_v p_s a / N with a = log p_s - log(p_t + 1e-8):
 *       dL/dz_j = mask * p_s,j * (a_j - sum_v p_s a) / N (the derivative of a's log p_s term,
 *       sum_v p_s d log p_s / dz_j = p_s,j - p_s,j * sum_v p_s, vanishes).</li>
 * </ul>
 * times 0.8^k for step k and the gradient scale (the fp16 loss scale over the micro-batches),
 * then cast to the compute dtype, as autograd casts log-softmax's fp32 gradient.
 *
 * <p>Chunks run over the target's positions s (the soft labels of s = t + k + 1 train position t
 * at step k), so each chunk's soft labels are made once, from the stored last hidden state
 * through the target's frozen norm and head, and serve every step: position mask(s) =
 * [target's argmax in the draft vocabulary] * loss_mask[s - 1], and step k's accuracy
 * denominator counts the same loss_mask entries; past the end (s >= T) the target is uniform, its
 * argmax id 0, and loss_mask is 0 from s = T + 1 on. loss_mask is the batch's as the trainer
 * aligned it ({@link LossMaskAlignment}): shifted with the targets, entry s - 1 is the stored
 * mask of token s; as the reference leaves it, of token s - 1.
 */
public final class ChunkedHeadLoss {
    /** fp32 logits per chunk of the wider vocabulary: 256 MiB (523 tokens at 128,256). */
    static final long CHUNK_LOGITS = 1L << 26;
    /** Rows of the per-step statistics: loss, accuracy, correct predictions, accuracy denominator. */
    static final int LOSS = 0;
    static final int ACC = 1;
    static final int CORRECT = 2;
    static final int COUNTED = 3;
    private static final String CLASS = "EagleChunkedHeadLoss";
    private static final List<ScriptTemplate> TEMPLATES = List.of(ScriptTemplate.of("draft/chunked-head-loss"),
            ScriptTemplate.of("norm"));

    private final SoftLabels target;
    private final int steps;
    private final ScriptModule trainedHead;
    private final ScriptModule frozenHead;
    private final ScriptModule scoring;

    /**
     * @param chunkTokens tokens per chunk (over all rows of a batch), or 0 for
     *     {@link #CHUNK_LOGITS} fp32 logits of the target vocabulary
     */
    public ChunkedHeadLoss(SoftLabels target, int steps, double decay, LossType loss, double draftEps,
                           long chunkTokens) {
        this.target = target;
        this.steps = steps;
        long chunk = chunkTokens > 0 ? chunkTokens : Math.max(1, CHUNK_LOGITS / target.targetVocabSize());
        this.trainedHead = ScriptModule.of(CLASS, code(steps, decay, loss, chunk, true, false, draftEps, target.eps()));
        this.frozenHead = ScriptModule.of(CLASS, code(steps, decay, loss, chunk, false, false, draftEps, target.eps()));
        this.scoring = ScriptModule.of(CLASS, code(steps, decay, loss, chunk, false, true, draftEps, target.eps()));
    }

    /**
     * The losses of one micro-batch, the scalar whose backward delivers their gradient, the
     * gradient G_k of each step's output that it hands on and, when scoring, each position's hits.
     *
     * @param hits bool [B, T, steps]: step k at position t predicted the target's argmax at
     *     t + k + 1, which the draft vocabulary holds; whatever the loss mask says ([0, 0, steps]
     *     unless {@link #score})
     */
    public record Result(NDArray graphEnd, NDArray total, NDArray perStep, NDArray hits, List<NDArray> gradients) {}

    /**
     * @param outputs each step's h_out [B, T, H], ends of the autograd graph
     * @param norm the draft's final norm weight [H] in the compute dtype (trained)
     * @param head the draft's lm_head [Vd, H] in the compute dtype; trained when it requires gradients
     * @param lastHidden the target's last hidden state [B, T, Ht] in the compute dtype
     * @param lossMask [B, T]
     * @param gradScale what the gradients are multiplied by (loss scale over micro-batches)
     * @return the surrogate to run backward on (seed 1), the weighted total and [4, steps] per-step
     *     losses, accuracies, correct predictions and accuracy denominators (detached, fp32), in
     *     lastHidden's manager
     */
    public Result run(List<NDArray> outputs, NDArray norm, NDArray head, NDArray lastHidden, NDArray lossMask,
                      float gradScale) {
        return run(head.hasGradient() ? trainedHead : frozenHead, outputs, norm, head, lastHidden, lossMask, gradScale);
    }

    /**
     * The same statistics with each position's hits and no gradients to accumulate (the head's
     * included): validation's forward.
     */
    public Result score(List<NDArray> outputs, NDArray norm, NDArray head, NDArray lastHidden, NDArray lossMask) {
        return run(scoring, outputs, norm, head, lastHidden, lossMask, 1);
    }

    private Result run(ScriptModule script, List<NDArray> outputs, NDArray norm, NDArray head, NDArray lastHidden,
                       NDArray lossMask, float gradScale) {
        if (outputs.size() != steps) {
            throw new IllegalArgumentException(outputs.size() + " step outputs for " + steps + " steps");
        }
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            NDArray scale = host.create(new float[] {gradScale}); // read by the script on the host: no sync
            NDList out = script.forwardArgsRecording(lastHidden, outputs, norm, head, lossMask, target.norm(),
                    target.head(), target.draftIds(), target.inVocab(), scale);
            return new Result(out.get(0), out.get(1), out.get(2), out.get(3), out.subList(4, out.size()));
        }
    }

    private static String code(int steps, double decay, LossType loss, long chunkTokens, boolean trainHead,
                               boolean perPosition, double draftEps, double targetEps) {
        StringBuilder weights = new StringBuilder();
        for (int k = 0; k < steps; k++) {
            // As floats, as the weighted sum of the reference multiplies its fp32 losses.
            weights.append(k == 0 ? "" : ", ").append(Float.toString((float) Math.pow(decay, k)));
        }
        return ScriptTemplate.methods(CLASS, Map.of("steps", steps, "step_weights", weights.toString(),
                "train_head", trainHead, "per_position", perPosition, "forward_kl", loss == LossType.FORWARD_KL,
                "chunk_tokens", chunkTokens, "eps", draftEps, "target_eps", targetEps), ScriptTemplate.COMMENTS, TEMPLATES);
    }
}
