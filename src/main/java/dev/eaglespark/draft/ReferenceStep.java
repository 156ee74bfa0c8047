package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import dev.eaglespark.runtime.GradMode;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.SafeTensorsWriter;
import dev.eaglespark.tensors.TensorDType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One training step on a batch stored in the reference format (the eagle3_*.safetensors + .json
 * pairs: inputs, param.*, target head): the way to check this trainer against another
 * implementation. Returns ploss, acc, total_loss and grad.* under the reference's names.
 */
public final class ReferenceStep {
    /** A fixed loss scale for one fp16 step (training adjusts its own): 2^10 keeps this batch's gradients finite. */
    public static final float FP16_LOSS_SCALE = 1024;

    private ReferenceStep() {}

    /** Per-step losses and accuracies, the total, and the gradients of trainable weights. */
    public record Result(float[] ploss, float[] acc, float total, Map<String, float[]> grads,
                         Map<String, long[]> shapes) {
        public SafeTensorsWriter toSafeTensors() {
            SafeTensorsWriter w = new SafeTensorsWriter()
                    .addFloats("ploss", new long[] {ploss.length}, ploss, TensorDType.F32)
                    .addFloats("acc", new long[] {acc.length}, acc, TensorDType.F32)
                    .addFloats("total_loss", new long[] {1}, new float[] {total}, TensorDType.F32);
            grads.forEach((n, g) -> w.addFloats("grad." + n, shapes.get(n), g, TensorDType.F32));
            return w;
        }
    }

    /**
     * @param meta the .json: config, variant (standard / shared_head), loss_type, ttt_length,
     *     target_rms_norm_eps
     */
    public static Result run(SafeTensorsFile f, JsonNode meta) {
        return run(f, meta, Precision.FP32);
    }

    /**
     * The same step computed in {@code precision} the way training computes it: in fp16 on fp16
     * copies of the weights with the features rounded to fp16 (as stage 1 stores them) and the
     * loss multiplied by {@link #FP16_LOSS_SCALE}, the gradients unscaled in fp32.
     */
    public static Result run(SafeTensorsFile f, JsonNode meta, Precision precision) {
        return run(f, meta, precision, Device.cpu());
    }

    /** The step on {@code device}: on a GPU the kernels a GPU trains with (fused attention in fp16). */
    public static Result run(SafeTensorsFile f, JsonNode meta, Precision precision, Device device) {
        return run(f, meta, precision, device, LossMaskAlignment.REFERENCE, 0, false);
    }

    /**
     * The step with the loss mask aligned as {@code alignment} says (the reference's dumps were
     * computed with it unshifted, {@link LossMaskAlignment#REFERENCE}), the head and loss in
     * chunks of {@code chunkTokens} tokens (0: training's default size), and the TTT steps
     * recomputed in the backward when {@code recompute}.
     */
    public static Result run(SafeTensorsFile f, JsonNode meta, Precision precision, Device device,
                             LossMaskAlignment alignment, long chunkTokens, boolean recompute) {
        ReferenceBatch ref = ReferenceBatch.of(f, meta);
        DataType dtype = precision.dataType();
        float scale = precision == Precision.FP16 ? FP16_LOSS_SCALE : 1;
        try (NDManager m = NDManager.newBaseManager(device);
             DraftParams params = new DraftParams(device);
             SoftLabels soft = ref.softLabels(m, dtype)) {
            ref.putParams(params, m);
            try (ComputeWeights weights = ComputeWeights.of(params, precision)) {
                weights.beginUpdate();
                TrainTimeTest ttt = new TrainTimeTest(new Eagle3Draft(ref.config(), weights.params()),
                        ref.tttLength(), TrainTimeTest.STEP_DECAY, ref.loss(), soft, chunkTokens, recompute);
                TrainTimeTest.Output out;
                try (GradMode gc = GradMode.recording()) {
                    TrainTimeTest.Inputs in = ref.inputs(m, dtype);
                    out = ttt.run(alignment.align(in.batch()), in.lastHidden(), scale);
                    out.backward(gc);
                }
                weights.afterBackward((float) (1 / scale));
                Map<String, float[]> grads = new LinkedHashMap<>();
                Map<String, long[]> shapes = new LinkedHashMap<>();
                try (GradMode off = GradMode.off()) {
                    weights.gradients().forEach((n, g) -> {
                        grads.put(n, g.toFloatArray());
                        shapes.put(n, g.getShape().getShape());
                        g.close();
                    });
                }
                weights.endUpdate();
                return new Result(out.stepLoss(), out.stepAcc(), out.total(), grads, shapes);
            }
        }
    }
}
