package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The draft's weights by their serving names, fp32 (the master copy; or fp16 compute copies,
 * see {@link HalfWeights}), owned by one manager.
 * {@code embed_tokens.weight} is the target's and always frozen; in the shared-head variant
 * {@code lm_head.weight} is the target's too and frozen.
 */
public final class DraftParams implements AutoCloseable {
    public static final String EMBED = "embed_tokens.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private final NDManager manager;
    private final DataType dtype;
    private final Map<String, NDArray> arrays = new LinkedHashMap<>();
    private final List<String> trainable = new ArrayList<>();

    public DraftParams(Device device) {
        this(device, DataType.FLOAT32);
    }

    /** Weights kept in {@code dtype}, whatever dtype they are put in. */
    public DraftParams(Device device, DataType dtype) {
        this.manager = NDManager.newBaseManager(device);
        this.dtype = dtype;
    }

    /** Names and shapes of every weight, in a fixed order (checkpoints and gradients follow it). */
    public static Map<String, long[]> shapes(DraftConfig c) {
        Map<String, long[]> s = new LinkedHashMap<>();
        long h = c.hiddenSize();
        s.put("fc.weight", new long[] {h, (long) c.numAux() * c.targetHiddenSize()});
        s.put("midlayer.hidden_norm.weight", new long[] {h});
        s.put("midlayer.input_layernorm.weight", new long[] {h});
        s.put("midlayer.self_attn.q_proj.weight", new long[] {c.qDim(), 2 * h});
        s.put("midlayer.self_attn.k_proj.weight", new long[] {c.kvDim(), 2 * h});
        s.put("midlayer.self_attn.v_proj.weight", new long[] {c.kvDim(), 2 * h});
        s.put("midlayer.self_attn.o_proj.weight", new long[] {h, c.qDim()});
        s.put("midlayer.post_attention_layernorm.weight", new long[] {h});
        s.put("midlayer.mlp.gate_proj.weight", new long[] {c.intermediateSize(), h});
        s.put("midlayer.mlp.up_proj.weight", new long[] {c.intermediateSize(), h});
        s.put("midlayer.mlp.down_proj.weight", new long[] {h, c.intermediateSize()});
        s.put("norm.weight", new long[] {h});
        s.put(LM_HEAD, new long[] {c.draftVocabSize(), h});
        return s;
    }

    /** Adds a weight (copied into this manager in this dtype); trainable ones record gradients. */
    public void put(String name, NDArray value, boolean train) {
        NDArray copy = ownCopy(value, manager, dtype);
        NDArray old = arrays.put(name, copy);
        if (old != null) {
            old.close();
        }
        trainable.remove(name);
        if (train) {
            copy.setRequiresGradient(true);
            trainable.add(name);
        }
    }

    /**
     * A copy with its own memory, in {@code dtype}, on {@code owner}'s device. toType and toDevice
     * return views when nothing changes, and an array made from a Java buffer does not own its
     * memory: a view of it outliving the original reads freed memory. duplicate() always copies.
     */
    public static NDArray ownCopy(NDArray value, NDManager owner, DataType dtype) {
        boolean sameDevice = value.getDevice().equals(owner.getDevice());
        boolean sameType = value.getDataType() == dtype;
        // A cast to another dtype allocates anyway: only a same-device, same-dtype copy needs duplicate().
        NDArray moved = !sameDevice ? value.toDevice(owner.getDevice(), true) : sameType ? value.duplicate() : value;
        NDArray typed = sameType ? moved : moved.toType(dtype, false);
        typed.attach(owner);
        if (typed != moved && moved != value) {
            moved.close();
        }
        return typed;
    }

    /**
     * Fresh weights: norms one, projections N(0, 0.02^2), as transformers initialises Llama
     * layers. Drawn in Java from (seed, weight name), not from libtorch's generator: that one is
     * global to the process, so ranks sharing a JVM (local mode) would interleave their draws,
     * and every rank of a run must start from the same weights on any device.
     */
    public static DraftParams initialise(DraftConfig c, Device device, long seed, NDArray embed, NDArray lmHead,
                                         boolean trainLmHead) {
        DraftParams p = new DraftParams(device);
        try (NDManager tmp = NDManager.newBaseManager(device)) {
            for (Map.Entry<String, long[]> e : shapes(c).entrySet()) {
                String name = e.getKey();
                if (name.equals(LM_HEAD)) {
                    continue;
                }
                Shape shape = new Shape(e.getValue());
                NDArray v = name.endsWith("norm.weight") ? tmp.ones(shape)
                        : tmp.create(normal(seed, name, Math.toIntExact(shape.size()), 0.02f), shape);
                p.put(name, v, true);
            }
        }
        p.put(LM_HEAD, lmHead, trainLmHead);
        p.put(EMBED, embed, false);
        return p;
    }

    /** N(0, std^2) samples, in chunks of their own seeded stream so they can be drawn in parallel. */
    static float[] normal(long seed, String name, int n, float std) {
        float[] out = new float[n];
        int chunk = 1 << 20;
        long base = seed * 0x9E3779B97F4A7C15L + name.hashCode();
        java.util.stream.IntStream.range(0, (n + chunk - 1) / chunk).parallel().forEach(i -> {
            java.util.SplittableRandom r = new java.util.SplittableRandom(base + 0xBF58476D1CE4E5B9L * i);
            for (int j = i * chunk, end = Math.min(n, j + chunk); j < end; j++) {
                out[j] = (float) (r.nextGaussian() * std);
            }
        });
        return out;
    }

    /** The target lm_head's rows of a draft vocabulary: how a standard draft's head starts. */
    public static NDArray vocabRows(NDArray targetLmHead, dev.eaglespark.vocab.DraftVocab vocab, NDManager m) {
        long[] ids = new long[vocab.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.targetId(i);
        }
        NDArray idArray = m.create(ids);
        return idArray.getNDArrayInternal().embedding(idArray, targetLmHead, ai.djl.ndarray.types.SparseFormat.DENSE)
                .singletonOrThrow();
    }

    public NDArray get(String name) {
        NDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("draft has no weight " + name);
        }
        return a;
    }

    public Map<String, NDArray> all() {
        return Collections.unmodifiableMap(arrays);
    }

    /** The names of the weights training updates, in a fixed order. */
    public List<String> trainable() {
        return Collections.unmodifiableList(trainable);
    }

    /** The trainable weights by name, in {@link #trainable()} order. */
    public Map<String, NDArray> trainableArrays() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        trainable.forEach(name -> out.put(name, arrays.get(name)));
        return out;
    }

    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }
}
