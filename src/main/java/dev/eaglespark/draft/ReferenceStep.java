package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.eaglespark.model.Ops;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.tensors.SafeTensorsWriter;
import dev.eaglespark.tensors.TensorDType;
import dev.eaglespark.vocab.DraftVocab;
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
        boolean shared = meta.get("variant").asText().equals("shared_head");
        long[] idsShape = f.info("input_ids").shape();
        int targetHidden = (int) f.info("h_last").shape()[2];
        int numAux = (int) (f.info("aux_hidden").shape()[2] / targetHidden);
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             DraftParams params = new DraftParams(Device.cpu())) {
            DraftConfig cfg = DraftConfig.fromJson(meta.get("config"), targetHidden, numAux);
            int vocabSize = (int) f.info("target_lm_head").shape()[0];
            // The shared head maps ids one to one: offsets all zero, whatever the file's buffer says.
            DraftVocab vocab = shared ? DraftVocab.identity(vocabSize)
                    : DraftVocab.fromTensors(f.readLongs("buffer.t2d"), f.readLongs("buffer.d2t"), null);
            for (String p : f.tensors().keySet()) {
                if (p.startsWith("param.")) {
                    String n = p.substring(6);
                    boolean train = !n.equals(DraftParams.EMBED) && !(shared && n.equals(DraftParams.LM_HEAD));
                    params.put(n, floats(m, f, p), train);
                }
            }
            long[] mask = f.readLongs("attention_mask");
            long[] lengths = new long[(int) idsShape[0]];
            for (int i = 0; i < mask.length; i++) {
                lengths[(int) (i / idsShape[1])] += mask[i];
            }
            DataType dtype = precision.dataType();
            float scale = precision == Precision.FP16 ? FP16_LOSS_SCALE : 1;
            try (SoftLabels soft = new SoftLabels(floats(m, f, "target_norm"), floats(m, f, "target_lm_head"),
                    meta.get("target_rms_norm_eps").asDouble(), vocab, dtype);
                 ComputeWeights weights = ComputeWeights.of(params, precision)) {
                weights.beginUpdate();
                TrainTimeTest ttt = new TrainTimeTest(new Eagle3Draft(cfg, weights.params()),
                        meta.get("ttt_length").asInt(), 0.8, LossType.parse(meta.get("loss_type").asText()));
                TrainTimeTest.Output out;
                try (GradMode gc = GradMode.recording()) {
                    NDArray lossMask = m.create(f.readLongs("loss_mask"), new Shape(f.info("loss_mask").shape()));
                    NDArray ids = m.create(f.readLongs("input_ids"), new Shape(idsShape));
                    out = ttt.run(new TrainTimeTest.Batch(ids, lengths, lossMask,
                            floats(m, f, "aux_hidden").toType(dtype, false)),
                            soft.labels(floats(m, f, "h_last").toType(dtype, false), lossMask));
                    gc.backward(Ops.scale(out.total(), scale));
                }
                weights.afterBackward();
                Map<String, float[]> grads = new LinkedHashMap<>();
                Map<String, long[]> shapes = new LinkedHashMap<>();
                try (GradMode off = GradMode.off()) {
                    Map<String, NDArray> g = weights.gradients(1 / scale);
                    g.forEach((n, a) -> {
                        grads.put(n, a.toFloatArray());
                        shapes.put(n, a.getShape().getShape());
                        a.close();
                    });
                }
                weights.endUpdate();
                return new Result(out.stepLoss(), out.stepAcc(), out.total().getFloat(), grads, shapes);
            }
        }
    }

    private static NDArray floats(NDManager m, SafeTensorsFile f, String name) {
        return m.create(f.readFloats(name), new Shape(f.info(name).shape()));
    }
}
