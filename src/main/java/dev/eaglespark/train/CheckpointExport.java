package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.export.DraftExport;
import dev.eaglespark.export.ServingEngine;
import dev.eaglespark.features.FeatureManifest;
import dev.eaglespark.io.LocalDirs;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.vocab.DraftVocab;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Any committed checkpoint written as the serving draft, the files {@code train --export} writes
 * at the end of a run: so a run's learning curve can be evaluated checkpoint by checkpoint. The
 * checkpoint holds the trained weights; the features' manifest gives the aux layers, the target
 * its layer count (and, for the shared head, the frozen lm_head the checkpoint does not hold).
 */
public final class CheckpointExport {
    private CheckpointExport() {}

    /**
     * @param vocab the run's vocab.safetensors, or null for a shared-head draft
     */
    public static void write(String checkpoint, String features, String target, String vocab, String export,
                             ServingEngine engine, Configuration conf) throws IOException {
        int[] aux = FeatureManifest.read(features, conf).auxLayerIds();
        java.nio.file.Path targetDir = LocalDirs.localize(target, conf);
        TargetConfig tcfg = TargetConfig.load(targetDir.resolve("config.json"));
        DraftVocab v = vocab == null ? DraftVocab.identity(tcfg.vocabSize()) : DraftVocab.read(vocab, conf);
        DraftConfig cfg = DraftConfig.forTarget(tcfg, v.size(), aux.length);
        Path ck = new Path(checkpoint);
        // Published as train --export is: staged, never over foreign files or an input.
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             OutputPublisher out = OutputPublisher.prepare("export", "--output", export,
                     Arrays.asList(checkpoint, features, target, vocab), conf)) {
            Map<String, NDArray> weights = new LinkedHashMap<>(new Checkpoints(ck.getParent().toString(), conf)
                    .weights(ck, m));
            if (vocab == null) {
                weights.putIfAbsent(DraftParams.LM_HEAD, DraftTraining.TargetParts.load(targetDir, tcfg, m).lmHead());
            }
            for (Map.Entry<String, long[]> e : DraftParams.shapes(cfg).entrySet()) {
                NDArray w = weights.get(e.getKey());
                if (w == null || !Arrays.equals(w.getShape().getShape(), e.getValue())) {
                    throw new IOException(checkpoint + ": weight " + e.getKey() + (w == null ? " missing" : " is "
                            + w.getShape() + ", the draft of this target and vocabulary needs "
                            + Arrays.toString(e.getValue())));
                }
            }
            DraftExport.write(out.staging().toString(), conf, cfg, weights, v, aux, tcfg.numLayers(), engine);
            out.publish();
        }
    }
}
