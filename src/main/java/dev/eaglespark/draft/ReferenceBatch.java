package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.vocab.DraftVocab;

/**
 * A batch stored the way the reference trainer's dumps are (the eagle3_*.safetensors + .json
 * pairs): the draft's config and vocabulary, its weights before the step (param.*), the
 * target's final norm and lm_head, and the inputs.
 *
 * @param meta the .json: config, variant (standard / shared_head), loss_type, ttt_length,
 *     target_rms_norm_eps
 */
public record ReferenceBatch(SafeTensorsFile file, JsonNode meta, DraftConfig config, DraftVocab vocab) {
    public static ReferenceBatch of(SafeTensorsFile f, JsonNode meta) {
        int targetHidden = (int) f.info("h_last").shape()[2];
        int numAux = (int) (f.info("aux_hidden").shape()[2] / targetHidden);
        DraftConfig cfg = DraftConfig.fromJson(meta.get("config"), targetHidden, numAux);
        int vocabSize = (int) f.info("target_lm_head").shape()[0];
        // The shared head maps ids one to one: offsets all zero, whatever the file's buffer says.
        DraftVocab vocab = shared(meta) ? DraftVocab.identity(vocabSize)
                : DraftVocab.read(f, "buffer.");
        return new ReferenceBatch(f, meta, cfg, vocab);
    }

    private static boolean shared(JsonNode meta) {
        return meta.get("variant").asText().equals("shared_head");
    }

    public boolean sharedHead() {
        return shared(meta);
    }

    public int tttLength() {
        return meta.get("ttt_length").asInt();
    }

    public LossType loss() {
        return LossType.parse(meta.get("loss_type").asText());
    }

    /** The weights before the step; embed_tokens and a shared head frozen. */
    public void putParams(DraftParams params, NDManager m) {
        for (String p : file.tensors().keySet()) {
            if (p.startsWith("param.")) {
                String n = p.substring(6);
                boolean train = !n.equals(DraftParams.EMBED) && !(sharedHead() && n.equals(DraftParams.LM_HEAD));
                params.put(n, floats(m, p), train);
            }
        }
    }

    /** Soft labels from the target's head, in {@code compute}. */
    public SoftLabels softLabels(NDManager m, DataType compute) {
        return new SoftLabels(floats(m, "target_norm"), floats(m, "target_lm_head"),
                meta.get("target_rms_norm_eps").asDouble(), vocab, compute);
    }

    /** The inputs, aux and h_last in {@code compute} (fp16: rounded as stage 1 stores them). */
    public TrainTimeTest.Inputs inputs(NDManager m, DataType compute) {
        long[] idsShape = file.info("input_ids").shape();
        long[] mask = file.readLongs("attention_mask");
        long[] lengths = new long[(int) idsShape[0]];
        long tokens = 0;
        for (int i = 0; i < mask.length; i++) {
            lengths[(int) (i / idsShape[1])] += mask[i];
            tokens += mask[i];
        }
        NDArray lossMask = m.create(file.readLongs("loss_mask"), new Shape(file.info("loss_mask").shape()));
        NDArray ids = m.create(file.readLongs("input_ids"), new Shape(idsShape));
        TrainTimeTest.Batch batch = TrainTimeTest.Batch.of(ids, lengths, lossMask,
                floats(m, "aux_hidden").toType(compute, false));
        return new TrainTimeTest.Inputs(batch, floats(m, "h_last").toType(compute, false), tokens);
    }

    private NDArray floats(NDManager m, String name) {
        return m.create(file.readFloats(name), new Shape(file.info(name).shape()));
    }
}
