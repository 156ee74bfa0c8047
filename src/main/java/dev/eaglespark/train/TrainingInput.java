package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.features.FeatureRecord;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.io.OutputPublisher;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * Where a training run's micro-batches come from: stage-1 features read from Parquet
 * ({@link #features}), or conversations made into features by the target inside the run
 * ({@link #online}). Everything else about a run (sharding, order, checkpoints, resume) is the
 * same for both.
 *
 * @param <T> one record: a feature row, a tokenized sample
 */
interface TrainingInput<T> extends AutoCloseable {
    TrainingData<T> data();

    /** The aux hidden-state indices the features hold. */
    int[] aux();

    /** A micro-batch of {@code rows}, made on the device when the trainer asks. */
    DraftTrainer.MicroBatch batch(List<T> rows);

    /** After each update (every rank, same steps). */
    default void afterUpdate() {}

    /** The run's rejects, or null where the input has none of its own (features were checked by stage 1). */
    default TrainingRejects rejects() {
        return null;
    }

    /** What a checkpoint's state.json records about the input. */
    void describe(ObjectNode state);

    @Override
    void close();

    /** Stage-1 features under {@code dir} of the aux layers {@code aux} (checked by {@link TargetCheck}). */
    static TrainingInput<FeatureRecord> features(String dir, int[] aux, TargetConfig target, DataType compute,
                                                 Configuration conf) throws IOException {
        FeatureDataset data = FeatureDataset.open(OutputPublisher.current(dir, conf), conf);
        BatchBuilder builder = new BatchBuilder(target.hiddenSize(), aux.length, compute);
        return new TrainingInput<>() {
            @Override
            public TrainingData<FeatureRecord> data() {
                return data;
            }

            @Override
            public int[] aux() {
                return aux.clone();
            }

            @Override
            public DraftTrainer.MicroBatch batch(List<FeatureRecord> rows) {
                return scope -> builder.build(scope, rows);
            }

            @Override
            public void describe(ObjectNode state) {
                state.put("features", dir);
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * Conversations through the target, loaded here on {@code device} in its default dtype (fp16
     * on a GPU, fp32 on the CPU) next to the draft.
     */
    static TrainingInput<TokenizedSample> online(TrainJob.OnlineInput in, java.nio.file.Path targetDir,
                                                 TargetConfig target, Device device, DataType compute,
                                                 Configuration conf) throws IOException {
        int[] aux = in.settings().auxFor(target.numLayers());
        SampleSource samples = new SampleSource(targetDir, in.settings());
        TrainingRejects rejects = new TrainingRejects();
        TargetModel model = null;
        try {
            ConversationDataset data = ConversationDataset.open(in, conf, samples.encoder(), rejects);
            model = TargetModel.load(targetDir, device);
            OnlineFeatures features = new OnlineFeatures(model, aux, compute);
            TargetModel loaded = model;
            return new TrainingInput<>() {
                @Override
                public TrainingData<TokenizedSample> data() {
                    return data;
                }

                @Override
                public int[] aux() {
                    return aux.clone();
                }

                @Override
                public DraftTrainer.MicroBatch batch(List<TokenizedSample> rows) {
                    return scope -> features.build(scope, rows);
                }

                @Override
                public void afterUpdate() {
                    features.reportNonFinite(rejects);
                }

                @Override
                public TrainingRejects rejects() {
                    return rejects;
                }

                @Override
                public void describe(ObjectNode state) {
                    in.inputs().forEach(state.putArray("inputs")::add);
                    state.put("input_splits", data.unitCount());
                }

                @Override
                public void close() {
                    features.close();
                    loaded.close();
                    samples.close();
                }
            };
        } catch (IOException | RuntimeException e) {
            if (model != null) {
                model.close();
            }
            samples.close();
            throw e;
        }
    }
}
