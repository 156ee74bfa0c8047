package dev.eaglespark.draft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.eaglespark.model.RopeScaling;
import dev.eaglespark.model.TargetConfig;

/**
 * Shapes of an EAGLE-3 draft: one Llama decoder layer whose attention reads 2H wide input
 * (input_layernorm(embedding) next to hidden_norm(h)), fed by fc from the fused aux states.
 *
 * @param numAux how many target hidden states are fused (fc takes numAux * targetHidden)
 */
public record DraftConfig(int hiddenSize, int intermediateSize, int numHeads, int numKvHeads, int headDim,
                          int draftVocabSize, int targetVocabSize, int targetHiddenSize, int numAux,
                          double rmsNormEps, RopeScaling rope, int maxPositionEmbeddings) {

    /** A draft shaped like its target's layers (the usual choice), with its own vocabulary size. */
    public static DraftConfig forTarget(TargetConfig t, int draftVocabSize, int numAux) {
        return new DraftConfig(t.hiddenSize(), t.intermediateSize(), t.numHeads(), t.numKvHeads(), t.headDim(),
                draftVocabSize, t.vocabSize(), t.hiddenSize(), numAux, t.rmsNormEps(), t.rope(),
                t.maxPositionEmbeddings());
    }

    /** From a Hugging Face style config (the draft's config.json or a trainer's dump). */
    public static DraftConfig fromJson(JsonNode c, int targetHiddenSize, int numAux) {
        int hidden = c.get("hidden_size").asInt();
        int heads = c.get("num_attention_heads").asInt();
        double theta = c.path("rope_theta").asDouble(c.path("rope_parameters").path("rope_theta").asDouble(10000));
        return new DraftConfig(hidden, c.get("intermediate_size").asInt(), heads,
                c.path("num_key_value_heads").asInt(heads), c.path("head_dim").asInt(hidden / heads),
                c.path("draft_vocab_size").asInt(c.get("vocab_size").asInt()), c.get("vocab_size").asInt(),
                c.path("target_hidden_size").asInt(targetHiddenSize), numAux, c.path("rms_norm_eps").asDouble(1e-6),
                RopeScaling.plain(theta), c.path("max_position_embeddings").asInt(2048));
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }
}
