package dev.eaglespark.features;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
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
import dev.eaglespark.runtime.CudaStreams;
import dev.eaglespark.runtime.ScriptModule;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Runs the target over tokenized samples and yields their features lazily, batch by batch.
 * Samples are read in windows, sorted by length and packed into batches of at most
 * {@code tokensPerBatch} padded tokens, so padding stays small. A sample whose states are not
 * finite (fp16 overflow) is rejected with its reason instead of written.
 */
public final class FeatureExtractor {
    private static final ScriptModule NON_FINITE_ROWS = ScriptModule.of("NonFiniteRows", """
              def forward(self: __torch__.NonFiniteRows, fused: Tensor, last: Tensor) -> Tensor:
                rows = torch.add(torch.sum(fused, [-1], False, dtype=6), torch.sum(last, [-1], False, dtype=6))
                return torch.logical_not(torch.isfinite(rows))
            """);
    private final TargetModel model;
    private final int[] aux;
    private final int tokensPerBatch;
    private final int window;
    private final boolean copyConcurrently;

    public FeatureExtractor(TargetModel model, int[] aux, int tokensPerBatch, int window) {
        this(model, aux, tokensPerBatch, window, model.device().isGpu());
    }

    /** {@code copyConcurrently}: batches are read by the model's copier thread (tests use it on the CPU). */
    FeatureExtractor(TargetModel model, int[] aux, int tokensPerBatch, int window, boolean copyConcurrently) {
        this.model = model;
        this.aux = aux.clone();
        this.tokensPerBatch = tokensPerBatch;
        this.window = window;
        this.copyConcurrently = copyConcurrently;
    }

    /**
     * The features of {@code samples}, in batches. On a GPU one batch is in flight while the next
     * is computed: the model's copier thread reads a finished batch off the device (on the
     * device's default stream) while this thread queues the next forward (on its own stream), so
     * the copy and the host's per-sample work overlap the GPU's work instead of pausing it.
     */
    public Iterator<FeatureRecord> extract(Iterator<TokenizedSample> samples, RejectSink rejects) {
        return new Iterator<>() {
            private final Deque<FeatureRecord> ready = new ArrayDeque<>();
            private final Deque<List<TokenizedSample>> batches = new ArrayDeque<>();
            private Future<Collected> inFlight;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty()) {
                    List<TokenizedSample> next = nextBatch();
                    if (next == null && inFlight == null) {
                        return false;
                    }
                    Launched launched = next == null ? null : launch(next);
                    // The previous batch is read off the device before this one is handed to the
                    // default stream: the hand-off makes every later copy there wait for this
                    // batch's forward, so the previous batch's copies would wait for it too.
                    if (inFlight != null) {
                        Collected c;
                        try {
                            c = await(inFlight);
                        } catch (RuntimeException e) {
                            if (launched != null) {
                                launched.scope().close();
                            }
                            throw e;
                        }
                        c.rejects().forEach(rejects::reject);
                        ready.addAll(c.records());
                    }
                    inFlight = launched == null ? null : collectLater(launched);
                }
                return true;
            }

            private List<TokenizedSample> nextBatch() {
                if (batches.isEmpty() && samples.hasNext()) {
                    List<TokenizedSample> chunk = new ArrayList<>();
                    while (chunk.size() < window && samples.hasNext()) {
                        chunk.add(samples.next());
                    }
                    batches.addAll(batches(chunk));
                }
                return batches.poll();
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
        Launched l = launch(batch);
        CudaStreams.handOff(l.bad());
        Collected c = collect(l);
        c.rejects().forEach(rejects::reject);
        return c.records();
    }

    /** A batch whose forward is queued on the device; its arrays live in {@code scope}. */
    private record Launched(List<TokenizedSample> batch, NDManager scope, NDArray fused, NDArray last, NDArray bad) {}

    /** A batch's records, and the samples it rejected (reported by the caller's thread). */
    private record Collected(List<FeatureRecord> records, List<Reject> rejects) {}

    /**
     * Queues the batch's forward, its fused aux states and last hidden states in fp16 and their
     * non-finite flags. Returns without waiting for the GPU.
     */
    private Launched launch(List<TokenizedSample> batch) {
        List<long[]> ids = new ArrayList<>();
        for (TokenizedSample s : batch) {
            ids.add(java.util.Arrays.stream(s.inputIds(), 0, s.length()).asLongStream().toArray());
        }
        CudaStreams.computeOnOwnStream(model.embedWeight());
        NDManager m = NDManager.newBaseManager(model.device());
        try {
            ForwardResult r = model.forward(m, ids, ForwardRequest.features(aux));
            NDArray fused = r.fusedAux(aux).toType(DataType.FLOAT16, false);
            NDArray last = r.lastHidden().toType(DataType.FLOAT16, false);
            NDArray bad = nonFiniteRows(fused, last); // [B, T]
            return new Launched(batch, m, fused, last, bad);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Hands the batch to the default stream, where its copies run; on a GPU the model's copier
     * thread collects it, on the CPU this thread right away (nothing to overlap).
     */
    private Future<Collected> collectLater(Launched l) {
        CudaStreams.handOff(l.bad());
        if (!copyConcurrently) {
            return CompletableFuture.completedFuture(collect(l));
        }
        return model.copier().submit(() -> collect(l));
    }

    private static Collected await(Future<Collected> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the features were read off the device", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Reads the batch off the device (one transfer each for the whole batch: a read per sample
     * would wait on the device every time), cuts out each sample's real tokens on the host, and
     * frees the batch's device arrays.
     */
    private Collected collect(Launched l) {
        try (NDManager m = l.scope()) {
            List<TokenizedSample> batch = l.batch();
            boolean[] bad = l.bad().toBooleanArray();
            int t = (int) l.fused().getShape().get(1);
            List<byte[]> fusedRows = perSample(l.fused(), batch, t);
            List<byte[]> lastRows = perSample(l.last(), batch, t);
            List<FeatureRecord> out = new ArrayList<>();
            List<Reject> rejected = new ArrayList<>();
            for (int b = 0; b < batch.size(); b++) {
                TokenizedSample s = batch.get(b);
                if (anyTrue(bad, b * t, s.length())) {
                    rejected.add(new Reject(s.id(), RejectReason.NON_FINITE_FEATURES,
                            "hidden states overflow fp16 (inf or NaN); not written", null, 0));
                    continue;
                }
                out.add(new FeatureRecord(s.id(), s.inputIds(), s.lossMask(), fusedRows.get(b), lastRows.get(b)));
            }
            return new Collected(out, rejected);
        }
    }

    /**
     * [B, T]: whether a token's fused aux states or last hidden state hold inf or NaN. Each row is
     * summed in fp32, which finite fp16 values cannot overflow (3H x 65504 is far below fp32's
     * range), so the sum is finite exactly when every value is: one read of the features, where
     * elementwise isnan/isinf masks wrote arrays the size of the features and reduced them again.
     */
    static NDArray nonFiniteRows(NDArray fused, NDArray last) {
        return NON_FINITE_ROWS.forward(new NDList(fused, last)).singletonOrThrow();
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
