package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import dev.eaglespark.runtime.HostStaging;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A Llama-family target model (Llama 2/3/3.1, Qwen2, Qwen3) on DJL for inference: batched,
 * right-padded sequences in, the requested hidden states and logits out. fp32 on CPU, fp16 on
 * GPU (fp32 for norms and softmax).
 */
public final class TargetModel implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(TargetModel.class);
    /** Copies ids into page-locked memory and queues their upload (the allocator keeps the block until it is done). */
    private static final ScriptModule UPLOAD = ScriptTemplate.module("UploadIds", Map.of(),
            ScriptTemplate.of("model/upload-ids"));

    private final TargetConfig config;
    private final NDManager weights;
    private final DataType dtype;
    private final NDArray embed;
    private final NDArray finalNorm;
    private final NDArray lmHead;
    private final List<DecoderLayer> layers;
    private final RotaryEmbedding rope;
    private final ScriptModule finalNormScript;
    private HostStaging staging;
    private DecodeScript decodeScript;
    private ExecutorService copier;
    /** cos and sin for full-sequence forwards, on the device. */
    private final RopeCache ropeFromZero;

    private TargetModel(TargetConfig config, NDManager weights, DataType dtype, NDArray embed, NDArray finalNorm,
                        NDArray lmHead, List<DecoderLayer> layers) {
        this.config = config;
        this.weights = weights;
        this.dtype = dtype;
        this.embed = embed;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = layers;
        this.rope = new RotaryEmbedding(config.rope(), config.headDim(), config.checkpointRopePrecision());
        this.ropeFromZero = new RopeCache(rope, weights.newSubManager());
        this.finalNormScript = ScriptTemplate.module("TargetFinalNorm", Map.of("eps", config.rmsNormEps()),
                ScriptTemplate.of("model/final-norm"), ScriptTemplate.of("norm"));
    }

    /** fp32 on CPU, fp16 on a GPU. */
    public static DataType defaultDtype(Device device) {
        return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    public static TargetModel load(Path dir, Device device) {
        return load(dir, device, defaultDtype(device));
    }

    public static TargetModel load(Path dir, Device device, DataType dtype) {
        if (!java.nio.file.Files.isDirectory(dir)) {
            throw new ModelLoadException("model directory not found: " + dir);
        }
        TargetConfig cfg = TargetConfig.load(dir.resolve("config.json"));
        long start = System.nanoTime();
        NDManager weights = NDManager.newBaseManager(device);
        try (CheckpointFiles files = CheckpointFiles.open(dir)) {
            TargetModel model = build(cfg, new WeightLoader(files, weights, dtype), weights, dtype, dir.toString());
            LOG.info("Loaded {} ({} layers, hidden {}, {}) on {} in {} ms", dir, cfg.numLayers(), cfg.hiddenSize(),
                    dtype, device, (System.nanoTime() - start) / 1_000_000);
            return model;
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** A model of {@code cfg}'s shapes with random weights (benchmarks, memory planning). */
    public static TargetModel random(TargetConfig cfg, Device device, DataType dtype) {
        NDManager weights = NDManager.newBaseManager(device);
        try {
            return build(cfg, new RandomWeights(weights, dtype, 0.02f, cfg.tieWordEmbeddings()), weights, dtype,
                    "random weights");
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** A model of {@code w}'s weights, which {@code weights} owns from here on. */
    static TargetModel build(TargetConfig cfg, WeightSource w, NDManager weights, DataType dtype,
                                     String where) {
        long v = cfg.vocabSize();
        long h = cfg.hiddenSize();
        NDArray embed = w.load("model.embed_tokens.weight", v, h);
        NDArray norm = w.load("model.norm.weight", h);
        NDArray head;
        if (w.has("lm_head.weight")) {
            head = w.load("lm_head.weight", v, h);
        } else if (cfg.tieWordEmbeddings()) {
            head = embed;
        } else {
            throw new ModelLoadException(where + ": missing weight lm_head.weight (tie_word_embeddings is false)");
        }
        List<DecoderLayer> layers = new ArrayList<>();
        LayerScript script = new LayerScript(cfg); // the same code for every layer
        for (int i = 0; i < cfg.numLayers(); i++) {
            layers.add(new DecoderLayer(cfg, w, i, script));
        }
        return new TargetModel(cfg, weights, dtype, embed, norm, head, layers);
    }

    public TargetConfig config() {
        return config;
    }

    public DataType dtype() {
        return dtype;
    }

    public Device device() {
        return weights.getDevice();
    }

    /** The host buffer that results are read through (pinned on a GPU), kept with the model. */
    public synchronized HostStaging hostStaging() {
        if (staging == null) {
            staging = HostStaging.forDevice(device());
        }
        return staging;
    }

    /**
     * The thread that reads results off the device while callers queue more work (stage 1's
     * pipelining), one per model like the staging buffer it copies through; it ends with the
     * model.
     */
    public synchronized ExecutorService copier() {
        if (copier == null) {
            copier = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "device-to-host copies");
                t.setDaemon(true);
                return t;
            });
        }
        return copier;
    }

    /** The final RMSNorm weight and the lm_head (the draft's soft labels are computed with them). */
    public NDArray finalNormWeight() {
        return finalNorm;
    }

    public NDArray lmHeadWeight() {
        return lmHead;
    }

    public NDArray embedWeight() {
        return embed;
    }

    /**
     * Runs sequences of different lengths as one right-padded batch.
     *
     * @param out the manager that will own the results (any device: results are moved there)
     */
    public ForwardResult forward(NDManager out, List<long[]> sequences, ForwardRequest req) {
        int batch = sequences.size();
        int t = sequences.stream().mapToInt(s -> s.length).max().orElse(0);
        if (batch == 0 || t == 0) {
            throw new IllegalArgumentException("forward needs at least one non-empty sequence");
        }
        long[] ids = new long[batch * t];
        for (int b = 0; b < batch; b++) {
            long[] s = sequences.get(b);
            checkIds(s);
            System.arraycopy(s, 0, ids, b * t, s.length);
        }
        try (NDManager scope = weights.newSubManager()) {
            NDArray idArray = upload(scope, ids, new Shape(batch, t));
            ForwardResult r = forward(scope, idArray, req);
            return moveTo(out, r);
        }
    }

    private ForwardResult forward(NDManager scope, NDArray ids, ForwardRequest req) {
        int t = (int) ids.getShape().get(1);
        NDList cs = ropeFromZero.fromZero(scope, t, dtype);
        // Right-padded whole sequences: causality alone hides the padding (no bias, no cache).
        return run(scope, ids, cs, null, null, req);
    }

    /**
     * Embeds {@code ids} [B, T] and runs every layer.
     *
     * @param rope cos and the sign-folded sin ({@link RotaryEmbedding#table}), broadcastable to [B, 1, T, d]
     * @param bias additive attention bias over the cached keys followed by these T, or null for
     *     causal attention over right-padded sequences with no cache (fused kernel)
     * @param cache null, or the cache this call extends
     * @return results in {@code scope}
     */
    ForwardResult run(NDManager scope, NDArray ids, NDList rope, NDArray bias, KvCache cache, ForwardRequest req) {
        NDArray h = ids.getNDArrayInternal().embedding(ids, embed, SparseFormat.DENSE).singletonOrThrow();
        Map<Integer, NDArray> hidden = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            if (req.wants(i)) {
                hidden.put(i, h);
            }
            NDArray next;
            // Each layer's temporaries live in their own scope, freed as soon as the layer is done.
            try (NDManager layerScope = scope.newSubManager()) {
                h.tempAttach(layerScope);
                next = layers.get(i).forward(h, rope.get(0), rope.get(1), bias, cache, i);
                next.attach(scope);
            }
            if (!req.wants(i)) {
                h.close();
            }
            h = next;
        }
        NDArray normed = req.normedHidden() || req.logits() ? finalNorm(h) : null;
        NDArray logits = req.logits() ? headLogits(normed) : null;
        return new ForwardResult(hidden, req.lastHidden() ? h : null, req.normedHidden() ? normed : null, logits);
    }

    /**
     * One sequence's next tokens after what {@code cache} holds: positions cache.length() on, each
     * new token seeing the whole cache and the new tokens before it. Results in {@code scope}.
     */
    public ForwardResult extend(NDManager scope, long[] tokens, KvCache cache, ForwardRequest req) {
        checkIds(tokens);
        long start = cache.length();
        int n = tokens.length;
        NDArray ids = upload(scope, tokens, new Shape(1, n));
        return run(scope, ids, rope.table(scope, start, n, dtype), Attention.afterCacheBias(scope, start, n, dtype),
                cache, req);
    }

    /**
     * Token ids on the model's device, in {@code scope}. On a GPU through page-locked memory and
     * without waiting: a plain upload from Java's memory waits for all work queued on the stream,
     * so the host could not queue the next forward while the GPU still runs this one.
     */
    NDArray upload(NDManager scope, long[] ids, Shape shape) {
        return upload(scope, m -> m.create(ids, shape));
    }

    /** Floats on the model's device, in {@code scope}, as {@link #upload(NDManager, long[], Shape)}. */
    NDArray upload(NDManager scope, float[] values, Shape shape) {
        return upload(scope, m -> m.create(values, shape));
    }

    private NDArray upload(NDManager scope, java.util.function.Function<NDManager, NDArray> create) {
        if (!embed.getDevice().isGpu()) {
            return create.apply(scope);
        }
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            NDArray onDevice = UPLOAD.forward(new NDList(embed, create.apply(host))).singletonOrThrow();
            onDevice.attach(scope);
            return onDevice;
        }
    }

    /** fp32 logits of last hidden states (before the final norm), any leading shape. */
    public NDArray logitsOf(NDArray lastHidden) {
        return headLogits(finalNorm(lastHidden));
    }

    private NDArray headLogits(NDArray normed) {
        NDArray logits = Ops.linear(normed, lmHead);
        return logits.getDataType() == DataType.FLOAT32 ? logits : logits.toType(DataType.FLOAT32, false);
    }

    RotaryEmbedding rope() {
        return rope;
    }

    /** cos and sin of positions from 0, kept on the device. */
    RopeCache ropeFromZero() {
        return ropeFromZero;
    }

    /**
     * Whether decode steps run as CUDA graphs ({@link DecodeGraphs}): on a GPU, unless turned off
     * with {@code -Deaglespark.cuda-graphs=false}.
     */
    public boolean decodesWithCudaGraphs() {
        return DecodeGraphs.usable(this);
    }

    /** The whole model as one call per prefill or decode step over a {@link SlotCache}, made on first use. */
    synchronized DecodeScript decodeScript() {
        if (decodeScript == null) {
            decodeScript = new DecodeScript(this, layers.stream().map(DecoderLayer::weights).toList());
        }
        return decodeScript;
    }

    NDManager weightsManager() {
        return weights;
    }

    /** The final RMSNorm, as every script computes it ({@code scripts/norm.torchscript}), in h's manager. */
    private NDArray finalNorm(NDArray h) {
        return finalNormScript.call(h, finalNorm);
    }

    private static ForwardResult moveTo(NDManager out, ForwardResult r) {
        Map<Integer, NDArray> hidden = new HashMap<>();
        r.hidden().forEach((k, v) -> hidden.put(k, take(out, v)));
        return new ForwardResult(hidden, take(out, r.lastHidden()), take(out, r.normedHidden()), take(out, r.logits()));
    }

    private static NDArray take(NDManager out, NDArray a) {
        if (a == null) {
            return null;
        }
        if (a.getDevice().equals(out.getDevice())) {
            a.attach(out);
            return a;
        }
        NDArray moved = a.toDevice(out.getDevice(), true);
        moved.attach(out);
        return moved;
    }

    private void checkIds(long[] s) {
        for (long id : s) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (copier != null) {
                copier.shutdown();
            }
            if (staging != null) {
                staging.close();
            }
            if (decodeScript != null) {
                decodeScript.close();
            }
        }
        layers.forEach(DecoderLayer::close);
        weights.close();
    }
}
