package dev.eaglespark.features;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.data.Reject;
import dev.eaglespark.data.RejectReason;
import dev.eaglespark.data.RejectSink;
import dev.eaglespark.data.TokenizedSample;
import dev.eaglespark.model.ForwardRequest;
import dev.eaglespark.model.ForwardResult;
import dev.eaglespark.model.TargetModel;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Runs the target over tokenized samples and yields their features lazily, batch by batch.
 * Samples are read in windows, sorted by length and packed into batches of at most
 * {@code tokensPerBatch} padded tokens, so padding stays small. A sample whose states are not
 * finite (fp16 overflow) is rejected with its reason instead of written.
 */
public final class FeatureExtractor {
    private final TargetModel model;
    private final int[] aux;
    private final int tokensPerBatch;
    private final int window;

    public FeatureExtractor(TargetModel model, int[] aux, int tokensPerBatch, int window) {
        this.model = model;
        this.aux = aux.clone();
        this.tokensPerBatch = tokensPerBatch;
        this.window = window;
    }

    public Iterator<FeatureRecord> extract(Iterator<TokenizedSample> samples, RejectSink rejects) {
        return new Iterator<>() {
            private final Deque<FeatureRecord> ready = new ArrayDeque<>();

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && samples.hasNext()) {
                    List<TokenizedSample> chunk = new ArrayList<>();
                    while (chunk.size() < window && samples.hasNext()) {
                        chunk.add(samples.next());
                    }
                    for (List<TokenizedSample> batch : batches(chunk)) {
                        ready.addAll(run(batch, rejects));
                    }
                }
                return !ready.isEmpty();
            }

            @Override
            public FeatureRecord next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }
        };
    }

    /** Sorted by length, packed while rows x longest stays within the token budget. */
    List<List<TokenizedSample>> batches(List<TokenizedSample> chunk) {
        List<TokenizedSample> sorted = new ArrayList<>(chunk);
        sorted.sort(Comparator.comparingInt(TokenizedSample::length));
        List<List<TokenizedSample>> out = new ArrayList<>();
        List<TokenizedSample> current = new ArrayList<>();
        for (TokenizedSample s : sorted) {
            if (!current.isEmpty() && (long) (current.size() + 1) * s.length() > tokensPerBatch) {
                out.add(current);
                current = new ArrayList<>();
            }
            current.add(s);
        }
        if (!current.isEmpty()) {
            out.add(current);
        }
        return out;
    }

    /** One forward pass; the records of the batch's finite samples. */
    public List<FeatureRecord> run(List<TokenizedSample> batch, RejectSink rejects) {
        List<long[]> ids = new ArrayList<>();
        for (TokenizedSample s : batch) {
            ids.add(java.util.Arrays.stream(s.inputIds(), 0, s.length()).asLongStream().toArray());
        }
        List<FeatureRecord> out = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(model.device())) {
            ForwardResult r = model.forward(m, ids, ForwardRequest.features(aux));
            NDArray fused = r.fusedAux(aux).toType(DataType.FLOAT16, false);
            NDArray last = r.lastHidden().toType(DataType.FLOAT16, false);
            // One transfer each for the whole batch (a read per sample would wait on the device
            // every time); samples are cut out on the host.
            boolean[] bad = nonFinite(fused).logicalOr(nonFinite(last)).toBooleanArray(); // [B, T]
            int t = (int) fused.getShape().get(1);
            List<byte[]> fusedRows = perSample(fused, batch, t);
            List<byte[]> lastRows = perSample(last, batch, t);
            for (int b = 0; b < batch.size(); b++) {
                TokenizedSample s = batch.get(b);
                if (anyTrue(bad, b * t, s.length())) {
                    rejects.reject(new Reject(s.id(), RejectReason.NON_FINITE_FEATURES,
                            "hidden states overflow fp16 (inf or NaN); not written", null, 0));
                    continue;
                }
                out.add(new FeatureRecord(s.id(), s.inputIds(), s.lossMask(), fusedRows.get(b), lastRows.get(b)));
            }
        }
        return out;
    }

    /** [B, T]: whether a token's vector holds inf or NaN. */
    private static NDArray nonFinite(NDArray x) {
        return x.isNaN().logicalOr(x.isInfinite()).toType(DataType.INT8, false).max(new int[] {2}).gt(0);
    }

    private static boolean anyTrue(boolean[] flags, int from, int n) {
        for (int i = from; i < from + n; i++) {
            if (flags[i]) {
                return true;
            }
        }
        return false;
    }

    /**
     * Each sample's real tokens of x [B, T, F] as bytes: one copy of the batch off the device
     * (through the model's reused host buffer), then one per sample into its own array.
     */
    private List<byte[]> perSample(NDArray x, List<TokenizedSample> batch, int t) {
        int row = (int) (x.getShape().get(2) * x.getDataType().getNumOfBytes());
        return model.hostStaging().read(x, all -> {
            List<byte[]> rows = new ArrayList<>();
            for (int b = 0; b < batch.size(); b++) {
                byte[] out = new byte[batch.get(b).length() * row];
                all.get(b * t * row, out);
                rows.add(out);
            }
            return rows;
        });
    }
}
