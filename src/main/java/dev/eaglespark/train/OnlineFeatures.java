package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.RejectReason;
import dev.eaglespark.data.RejectSink;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.draft.TrainTimeTest;
import dev.eaglespark.model.ForwardRequest;
import dev.eaglespark.model.ForwardResult;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Online training's micro-batches: tokenized samples through the target (on the draft's device,
 * loaded once) to the fused aux states and the last hidden state, kept on the device and handed
 * to the trainer as they are, with no Parquet in between. They are what stage 1 would store and
 * {@link BatchBuilder} would read back: rounded to fp16, then in the compute dtype, zero past
 * each row's end. A sample whose states are not finite in fp16 is trained with a zero loss mask
 * and zero features instead (taking it out would need the flags on the host, a wait for the GPU
 * per micro-batch); the flags are read after the update and such samples reported as
 * {@code non_finite_features} rejects.
 */
public final class OnlineFeatures implements AutoCloseable {
    private final TargetModel target;
    private final int[] aux;
    private final ScriptModule finish;
    private final NDManager flags;
    private final List<Pending> pending = new ArrayList<>();

    /** A micro-batch's non-finite flags [B] on the device and its samples. */
    private record Pending(NDArray bad, List<TokenizedSample> rows) {}

    public OnlineFeatures(TargetModel target, int[] aux, DataType compute) {
        this.target = target;
        this.aux = aux.clone();
        this.finish = ScriptTemplate.module("OnlineFeatures", Map.of("compute", ScriptTemplate.dtype(compute)),
                ScriptTemplate.of("train/online-features"));
        this.flags = NDManager.newBaseManager(target.device());
    }

    /** One micro-batch in {@code scope}: ids, loss mask, aux and last hidden states, right-padded. */
    public TrainTimeTest.Inputs build(NDManager scope, List<TokenizedSample> rows) {
        int b = rows.size();
        int t = rows.stream().mapToInt(TokenizedSample::length).max().orElseThrow();
        List<long[]> sequences = new ArrayList<>();
        long[] ids = new long[b * t];
        long[] lengths = new long[b];
        float[] mask = new float[b * t];
        long tokens = 0;
        for (int r = 0; r < b; r++) {
            TokenizedSample s = rows.get(r);
            long[] seq = new long[s.length()];
            for (int i = 0; i < seq.length; i++) {
                seq[i] = s.inputIds()[i];
                ids[r * t + i] = seq[i];
                mask[r * t + i] = s.lossMask()[i];
            }
            sequences.add(seq);
            lengths[r] = seq.length;
            tokens += seq.length;
        }
        ForwardResult states = target.forward(scope, sequences, ForwardRequest.features(aux));
        NDArray fused = states.fusedAux(aux);
        states.hidden().values().stream().filter(h -> h != fused).forEach(NDArray::close); // one aux layer: fused itself
        NDList out;
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            // Outside inference mode, which the target's forward runs in: autograd refuses to save
            // inference tensors, and the draft's graph saves its inputs. Nothing here requires gradients.
            out = finish.forward(new NDList(fused, states.lastHidden(), host.create(ids, new Shape(b, t)),
                    host.create(lengths), host.create(mask, new Shape(b, t))), true);
        }
        fused.close();
        states.lastHidden().close();
        NDArray bad = out.get(3);
        bad.attach(flags);
        pending.add(new Pending(bad, rows));
        TrainTimeTest.Batch batch = TrainTimeTest.Batch.of(out.get(4), lengths, out.get(2), out.get(0));
        return new TrainTimeTest.Inputs(batch, out.get(1), tokens);
    }

    /** Reads the flags of the micro-batches built so far; each non-finite sample goes to {@code rejects}. */
    public void reportNonFinite(RejectSink rejects) {
        for (Pending p : pending) {
            boolean[] bad = p.bad().toBooleanArray();
            for (int r = 0; r < bad.length; r++) {
                if (bad[r]) {
                    rejects.reject(new Reject(p.rows().get(r).id(), RejectReason.NON_FINITE_FEATURES,
                            "hidden states overflow fp16 (inf or NaN); trained with an empty loss mask", null, 0));
                }
            }
            p.bad().close();
        }
        pending.clear();
    }

    @Override
    public void close() {
        flags.close();
    }
}
