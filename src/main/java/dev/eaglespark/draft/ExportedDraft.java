package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.model.RopeScaling;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.nio.file.Path;

/** A draft read back from its serving export (config.json + model.safetensors), with the target's embeddings. */
public final class ExportedDraft implements AutoCloseable {
    private final DraftConfig config;
    private final DraftParams params;
    private final DraftVocab vocab;
    private final int[] auxIndices;

    private ExportedDraft(DraftConfig config, DraftParams params, DraftVocab vocab, int[] auxIndices) {
        this.config = config;
        this.params = params;
        this.vocab = vocab;
        this.auxIndices = auxIndices;
    }

    public static ExportedDraft load(Path dir, NDArray targetEmbed, Device device) throws IOException {
        JsonNode c = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        int[] aux = new ObjectMapper().convertValue(c.path("eaglespark").get("aux_hidden_state_indices"), int[].class);
        DraftConfig base = DraftConfig.fromJson(c, c.get("target_hidden_size").asInt(), aux.length);
        JsonNode rs = c.get("rope_scaling");
        RopeScaling rope = rs == null || rs.isNull() ? RopeScaling.plain(c.get("rope_theta").asDouble())
                : new RopeScaling(rs.get("rope_type").asText(), c.get("rope_theta").asDouble(),
                        rs.path("factor").asDouble(1), rs.path("low_freq_factor").asDouble(),
                        rs.path("high_freq_factor").asDouble(), rs.path("original_max_position_embeddings").asInt());
        DraftConfig cfg = new DraftConfig(base.hiddenSize(), base.intermediateSize(), base.numHeads(),
                base.numKvHeads(), base.headDim(), base.draftVocabSize(), base.targetVocabSize(),
                base.targetHiddenSize(), aux.length, base.rmsNormEps(), rope, base.maxPositionEmbeddings());
        DraftParams params = new DraftParams(device);
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("model.safetensors"));
             NDManager tmp = NDManager.newBaseManager(device)) {
            for (String name : DraftParams.shapes(cfg).keySet()) {
                params.put(name, tmp.create(f.readFloats(name), new Shape(f.info(name).shape())), false);
            }
            params.put(DraftParams.EMBED, targetEmbed, false);
            return new ExportedDraft(cfg, params, DraftVocab.read(f, ""), aux);
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
    }

    public Eagle3Draft draft() {
        return new Eagle3Draft(config, params);
    }

    public DraftVocab vocab() {
        return vocab;
    }

    public int[] auxIndices() {
        return auxIndices.clone();
    }

    public DraftConfig config() {
        return config;
    }

    @Override
    public void close() {
        params.close();
    }
}
