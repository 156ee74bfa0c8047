package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The whole model over a {@link SlotCache} as one TorchScript call ({@code
 * scripts/model/decode.torchscript}): a prefill of new rows into their slots, and a decode step of
 * the first B slots, each from token ids to the next token picked on the device ({@link
 * DeviceSampling}): embedding, every layer, the final norm, the head and the pick, with only the B
 * chosen ids read back. The layers are {@link LayerScript}'s own methods in its PREFILL and STEP
 * forms (the same layer source as every other path), called in a loop over lists of the layers'
 * weights; the rotary tables and the attention bias are made on the device from each row's
 * position. Through DJL one call costs a JNI crossing and the conversion of its arguments: the
 * weights' lists are built once (one TorchScript list per kind of weight across the layers) and
 * passed again at every call, so a step converts a handful of small tensors. Per-layer calls cost
 * about 0.4-1 ms of host time each on the GPU machine, 32 of them a step at 8B shapes; what is
 * left of the host's cost is the TorchScript interpreter's, a few microseconds per op
 * (docs/BENCHMARKS.md).
 */
public final class DecodeScript implements AutoCloseable {
    private static final ScriptTemplate DECODE = ScriptTemplate.of("model/decode");
    private static final ScriptTemplate PICK = ScriptTemplate.of("model/pick");
    /** Attended positions are rounded up to a multiple of this (fewer shapes for the fuser to specialise on). */
    private static final int END_ROUNDING = 64;

    private final TargetModel model;
    private final ScriptModule module;
    /** embed, final norm and lm_head, then one list per kind of layer weight (LayerScript's order). */
    private final IValue[] weights;
    private IValue cosTable;
    private IValue sinTable;
    private long ropeLength;
    private final List<IValue> retired = new ArrayList<>();
    /** Step shapes named for a warm-up in this process (threads share the executor): done once each. */
    private final java.util.Map<Object, WarmUp> warmUps = new java.util.concurrent.ConcurrentHashMap<>();

    /** A shape's warm-up; its monitor is held while it runs. */
    private static final class WarmUp {
        boolean done;
    }

    DecodeScript(TargetModel model, List<LayerWeights> layers) {
        this.model = model;
        TargetConfig c = model.config();
        LayerScript layer = new LayerScript(c);
        List<String> kinds = layer.weightNames();
        String className = "DecodeStep";
        // the model's inputs after each method's own, in the order call() passes them
        List<String> inputs = new ArrayList<>(List.of("embed: Tensor", "final_norm: Tensor", "lm_head: Tensor",
                "cos_table: Tensor", "sin_table: Tensor", "k_caches: List[Tensor]", "v_caches: List[Tensor]"));
        kinds.forEach(k -> inputs.add(k + ": List[Tensor]"));
        Map<String, Object> keys = Map.of("model_parameters", String.join(", ", inputs),
                "model_arguments", String.join(", ", inputs.stream().map(p -> p.substring(0, p.indexOf(':'))).toList()),
                "layer_weights", String.join(", ", kinds.stream().map(k -> k + "[i]").toList()),
                "kv_heads", c.numKvHeads(), "groups", c.numHeads() / c.numKvHeads(), "head_dim", c.headDim(),
                "hidden", c.hiddenSize(), "masked", (double) Attention.masked(model.dtype()));
        String code = ScriptTemplate.methods(className, keys, ScriptTemplate.COMMENTS, List.of(DECODE, PICK))
                + layer.layerMethod(className, "layer_step", LayerScript.Form.STEP)
                + layer.layerMethod(className, "layer_prefill", LayerScript.Form.PREFILL)
                + layer.layerMethod(className, "layer_extend", LayerScript.Form.EXTEND)
                + layer.helperMethods(className);
        this.module = ScriptModule.of(className, code);
        List<IValue> w = new ArrayList<>(List.of(value(model.embedWeight()), value(model.finalNormWeight()),
                value(model.lmHeadWeight())));
        for (int k = 0; k < kinds.size(); k++) {
            int kind = k;
            w.add(IValue.listFrom(layers.stream().map(l -> (PtNDArray) layer.weightInputs(l).get(kind))
                    .toArray(PtNDArray[]::new)));
        }
        this.weights = w.toArray(IValue[]::new);
    }

    private static IValue value(NDArray a) {
        return IValue.from((PtNDArray) a);
    }

    /**
     * A decode step of the first {@code ids.length} slots: row r feeds {@code ids[r]} at position
     * {@code pos[r]} (writing its key and value there) and attends over its positions up to it,
     * within the first {@code end} of the cache; returns each row's next token.
     *
     * @param sampling per row temperature, top-p and u ({@link DeviceSampling#row}), or null when every row is greedy
     * @param nucleus whether a sampled row has top-p below 1
     */
    long[] step(long[] ids, long[] pos, int end, float[] sampling, boolean nucleus, SlotCache cache) {
        try (NDManager scope = model.weightsManager().newSubManager()) {
            return pick(scope, "forward", stepInputs(scope, ids, pos, end, cache), sampling, nucleus, cache);
        }
    }

    /**
     * The step of {@link #step} from inputs already on the device: ids and positions [B] int64,
     * per row sampling inputs [B, 3] fp32 (read only when {@code sample}); the picked ids [B]
     * stay on the device, in {@code scope}. Nothing waits for the host: {@link DecodeGraphs}
     * captures this call.
     */
    NDArray stepOnDevice(NDManager scope, NDArray ids, NDArray pos, int end, NDArray sampling, boolean sample,
                         boolean nucleus, SlotCache cache) {
        return picked(scope, "forward", List.of(ids, pos, (long) end), sampling, sample, nucleus, cache);
    }

    /**
     * Runs {@code steps} the first time {@code shape} is named in this process (DecodeGraphs: a
     * step shape the optimizing executor has not yet profiled and compiled); a thread naming it
     * meanwhile waits until they are done, so that no thread captures a shape mid-profiling.
     */
    void warmUpOnce(Object shape, Runnable steps) {
        WarmUp warmUp = warmUps.computeIfAbsent(shape, k -> new WarmUp());
        synchronized (warmUp) {
            if (!warmUp.done) {
                steps.run();
                warmUp.done = true;
            }
        }
    }

    /** Copies {@code src} into {@code dst} (same shape and dtype, on the device) on the current stream. */
    void copyInto(NDArray dst, NDArray src) {
        try (IValue d = value(dst); IValue s = value(src);
             IValue out = module.runValues(dst, "copy_into", d, s)) {
            // out is dst
        }
    }

    /** The step's fp32 logits [B, V] instead of the picked ids (checks against the per-layer path), in {@code scope}. */
    NDArray stepLogits(NDManager scope, long[] ids, long[] pos, int end, SlotCache cache) {
        return logits(scope, "step_logits", stepInputs(scope, ids, pos, end, cache), cache);
    }

    /**
     * A prefill of right-padded prompts {@code ids} [k, t] into slots {@code slots}: each row's
     * keys and values at positions [0, t) of its slot (its padding's past its length, where the
     * bias of its later steps hides them); returns each row's first token.
     */
    long[] prefill(long[] ids, int t, long[] lengths, long[] slots, float[] sampling, boolean nucleus,
                   SlotCache cache) {
        try (NDManager scope = model.weightsManager().newSubManager()) {
            return pick(scope, "prefill", prefillInputs(scope, ids, t, lengths, slots), sampling, nucleus,
                    cache);
        }
    }

    /** The prefill's fp32 logits [k, V] at each row's last position, in {@code scope}. */
    NDArray prefillLogits(NDManager scope, long[] ids, int t, long[] lengths, long[] slots, SlotCache cache) {
        return logits(scope, "prefill_logits", prefillInputs(scope, ids, t, lengths, slots), cache);
    }

    /**
     * Rows continuing in slots {@code slots} after the positions [0, starts[i]) they hold already
     * (a conversation's next turn after its cached prefix): right-padded new tokens {@code ids}
     * [k, t], {@code lengths[i]} of them real, written at positions [starts[i], starts[i] + t) and
     * attended over the slots' first {@code end} positions; returns each row's next token.
     */
    long[] extend(long[] ids, int t, long[] lengths, long[] starts, long[] slots, int end, float[] sampling,
                  boolean nucleus, SlotCache cache) {
        try (NDManager scope = model.weightsManager().newSubManager()) {
            return pick(scope, "extend", extendInputs(scope, ids, t, lengths, starts, slots, end), sampling, nucleus,
                    cache);
        }
    }

    /** Copies the cache's positions [0, end) of slots {@code sources} into slots {@code targets} (distinct). */
    void moveRows(long[] sources, long[] targets, long end, SlotCache cache) {
        try (NDManager scope = model.weightsManager().newSubManager()) {
            long[] both = new long[2 * sources.length];
            System.arraycopy(sources, 0, both, 0, sources.length);
            System.arraycopy(targets, 0, both, sources.length, targets.length);
            NDArray up = model.upload(scope, both, new Shape(2, sources.length));
            try (IValue from = value(up.get(0)); IValue to = value(up.get(1)); IValue positions = IValue.from(end);
                 IValue out = module.runValues(model.embedWeight(), "move_rows", from, to, positions, cache.keyList(),
                         cache.valueList())) {
                // out is targets
            }
        }
    }

    /** The extension's fp32 logits [k, V] at each row's last new position, in {@code scope}. */
    NDArray extendLogits(NDManager scope, long[] ids, int t, long[] lengths, long[] starts, long[] slots, int end,
                         SlotCache cache) {
        return logits(scope, "extend_logits", extendInputs(scope, ids, t, lengths, starts, slots, end), cache);
    }

    /**
     * The positions a step attends over when its longest row reaches {@code longest}: rounded up
     * to a multiple of {@link #END_ROUNDING}, within the cache's capacity (masked past each row's own).
     */
    static int attended(long longest, SlotCache cache) {
        return (int) Math.min(cache.capacity(), attendedPositions(longest));
    }

    /** {@code longest} rounded up to a multiple of {@link #END_ROUNDING}, before the cache's capacity caps it. */
    public static long attendedPositions(long longest) {
        return (longest + END_ROUNDING - 1) / END_ROUNDING * END_ROUNDING;
    }

    private List<Object> stepInputs(NDManager scope, long[] ids, long[] pos, int end, SlotCache cache) {
        int b = ids.length;
        long[] both = new long[2 * b];
        System.arraycopy(ids, 0, both, 0, b);
        System.arraycopy(pos, 0, both, b, b);
        NDArray up = model.upload(scope, both, new Shape(2, b));
        return List.of(up.get(0), up.get(1), (long) end);
    }

    private List<Object> prefillInputs(NDManager scope, long[] ids, int t, long[] lengths, long[] slots) {
        return new ArrayList<>(uploadRows(scope, ids, t, lengths, slots));
    }

    private List<Object> extendInputs(NDManager scope, long[] ids, int t, long[] lengths, long[] starts, long[] slots,
                                      int end) {
        List<Object> in = new ArrayList<>(uploadRows(scope, ids, t, lengths, starts, slots));
        in.add((long) end);
        return in;
    }

    /** ids [k, t] and each per-row array [k], uploaded in one copy. */
    private List<NDArray> uploadRows(NDManager scope, long[] ids, int t, long[]... perRow) {
        int k = perRow[0].length;
        long[] all = new long[k * t + perRow.length * k];
        System.arraycopy(ids, 0, all, 0, k * t);
        for (int i = 0; i < perRow.length; i++) {
            System.arraycopy(perRow[i], 0, all, k * t + i * k, k);
        }
        NDArray up = model.upload(scope, all, new Shape(all.length));
        List<NDArray> out = new ArrayList<>(List.of(up.get("0:{}", k * t).reshape(k, t)));
        for (int i = 0; i < perRow.length; i++) {
            out.add(up.get("{}:{}", k * t + i * k, k * t + (i + 1) * k));
        }
        return out;
    }

    /**
     * Runs {@code method} on the leading inputs (tensors and ints),
     * followed by the sampling inputs, then the model's. Returns the picked ids on the host.
     */
    private long[] pick(NDManager scope, String method, List<Object> leading, float[] sampling, boolean nucleus,
                        SlotCache cache) {
        NDArray s = sampling == null ? (NDArray) leading.get(0) // not read
                : model.upload(scope, sampling, new Shape(sampling.length / DeviceSampling.COLUMNS,
                        DeviceSampling.COLUMNS));
        return picked(scope, method, leading, s, sampling != null, nucleus, cache).toLongArray();
    }

    /** {@code method} on the leading inputs, then the sampling inputs on the device; the picked ids, in {@code scope}. */
    private NDArray picked(NDManager scope, String method, List<Object> leading, NDArray sampling, boolean sample,
                           boolean nucleus, SlotCache cache) {
        List<IValue> in = new ArrayList<>();
        try {
            leading(in, leading);
            in.add(value(sampling));
            in.add(IValue.from(sample));
            in.add(IValue.from(nucleus));
            return call(scope, method, in, cache);
        } finally {
            in.forEach(IValue::close);
        }
    }

    private NDArray logits(NDManager scope, String method, List<Object> leading, SlotCache cache) {
        List<IValue> in = new ArrayList<>();
        try {
            leading(in, leading);
            return call(scope, method, in, cache);
        } finally {
            in.forEach(IValue::close);
        }
    }

    private static void leading(List<IValue> in, List<Object> leading) {
        for (Object a : leading) {
            in.add(a instanceof Long n ? IValue.from(n) : value((NDArray) a));
        }
    }

    /** Calls {@code method} with {@code in} then the model's inputs; the result in {@code scope}. */
    private NDArray call(NDManager scope, String method, List<IValue> in, SlotCache cache) {
        IValue[] args = new IValue[in.size() + 2 + weights.length + 2];
        int a = 0;
        for (IValue v : in) {
            args[a++] = v;
        }
        args[a++] = weights[0];
        args[a++] = weights[1];
        args[a++] = weights[2];
        IValue[] rope = rope(cache.capacity());
        args[a++] = rope[0];
        args[a++] = rope[1];
        args[a++] = cache.keyList();
        args[a++] = cache.valueList();
        for (int w = 3; w < weights.length; w++) {
            args[a++] = weights[w];
        }
        try (IValue out = module.runValues(model.embedWeight(), method, args)) {
            return out.toTensor((PtNDManager) scope);
        }
    }

    /**
     * cos and sign-folded sin tables covering {@code positions}, from the model's device-side
     * table; kept for later calls (several threads may decode with one model).
     */
    private synchronized IValue[] rope(long positions) {
        if (ropeLength < positions) {
            if (cosTable != null) { // another thread's call may still pass the old ones: closed with the script
                retired.add(cosTable);
                retired.add(sinTable);
            }
            try (NDManager tmp = model.weightsManager().newSubManager()) {
                NDList t = model.ropeFromZero().fromZero(tmp, (int) positions, model.dtype());
                cosTable = value(t.get(0));
                sinTable = value(t.get(1));
            }
            ropeLength = positions;
        }
        return new IValue[] {cosTable, sinTable};
    }

    private static void close(IValue... values) {
        for (IValue v : values) {
            if (v != null) {
                v.close();
            }
        }
    }

    @Override
    public synchronized void close() {
        close(weights);
        close(cosTable, sinTable);
        retired.forEach(IValue::close);
    }
}
