package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole decoder layer's forward as one TorchScript call ({@code scripts/model/layer.torchscript}
 * with the methods of {@link SharedFragments}), in two forms here: full sequences (no cache,
 * right-padded, causal) and steps after a KV cache (prefill, decoding, speculative verification),
 * which writes the step's keys and values into the cache's buffers in place and attends over them
 * with an additive bias; {@link DecodeScript} calls the layer in its two other forms. Through DJL
 * each op costs a JNI call of tens of microseconds, about 40 per layer; here the layer is one, and
 * on a GPU it runs through the optimizing executor ({@link ScriptModule#forwardFused}), which turns
 * each chain of elementwise ops into one generated kernel (the template says how the layer is
 * written for it). A third module, the timed copy, records a CUDA event at each of the template's
 * section marks, for {@link #sectionMillis}.
 */
public final class LayerScript {
    /**
     * Where a layer's attention finds its keys and values. The forms share every other line of
     * the layer (norms, projections, rotary, MLP); they differ in their extra parameters (after
     * x, cos and sin_signed) and in the attention section ({@code model/attention-FORM.torchscript}).
     */
    public enum Form {
        /** Right-padded full sequences without a cache: causal flash attention over them alone. */
        FULL(""),
        /** A step after a {@link KvCache}, written at the same positions in every row, attended with a bias. */
        CACHED(" bias: Tensor, k_cache: Tensor, v_cache: Tensor,"),
        /**
         * Right-padded full sequences (a prefill) as in FULL, their keys and values also written at
         * positions [0, T) of rows {@code slots} of slot buffers [slots, kvHeads, capacity, d].
         */
        PREFILL(" k_cache: Tensor, v_cache: Tensor, slots: Tensor,"),
        /**
         * One token for each of the slot buffers' first B rows, written at the row's own position
         * ({@code flat}: for row r and KV head h, (r * kvHeads + h) * capacity + the row's
         * position, an index into the buffer seen as [slots * kvHeads * capacity, d]), attended
         * with a bias [B, 1, 1, positions] of each row's own length, in one fused attention call;
         * {@code lengths} [B] int32 are those lengths.
         */
        STEP(" bias: Tensor, k_cache: Tensor, v_cache: Tensor, flat: Tensor, lengths: Tensor,"),
        /**
         * T new tokens for each of rows {@code slots} after the positions their slots hold
         * already, written at their own positions ({@code flat}, as STEP's for each of the T),
         * attended over the slots' positions [0, positions) with a bias [B, 1, groups * T,
         * positions] hiding each query's later keys (a KV head's query group folded into its rows).
         */
        EXTEND(" bias: Tensor, k_cache: Tensor, v_cache: Tensor, flat: Tensor, slots: Tensor,");

        private final String parameters;
        private final ScriptTemplate attention;

        Form(String parameters) {
            this.parameters = parameters;
            this.attention = ScriptTemplate.of("model/attention-" + name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    private static final ScriptTemplate LAYER = ScriptTemplate.of("model/layer");
    private static final ScriptTemplate EVENT = ScriptTemplate.of("model/section-event");
    private static final ScriptTemplate TIMED_RESULT = ScriptTemplate.of("model/timed-result");

    private final TargetConfig c;
    private final SharedFragments fragments;
    private final ScriptModule module;
    private final ScriptModule cachedModule;
    private final List<String> marks;
    private final String timedCode;
    private final ScriptModule timedModule; // loaded on its first call, which only a GPU makes
    private final List<String> stepMarks;
    private final String timedStepCode;
    private final ScriptModule timedStepModule;
    private final boolean qkvBias;
    private final boolean qkNorm;

    public LayerScript(TargetConfig cfg) {
        this.qkvBias = cfg.qkvBias();
        this.qkNorm = cfg.architecture().qkNorm();
        this.c = cfg;
        this.fragments = new SharedFragments(cfg.numHeads(), cfg.numKvHeads(), cfg.headDim(), cfg.rmsNormEps());
        this.module = ScriptModule.of("FusedDecoderLayer", module("FusedDecoderLayer", Form.FULL));
        this.cachedModule = ScriptModule.of("CachedDecoderLayer", module("CachedDecoderLayer", Form.CACHED));
        // the section marks of the full-sequence and decode-step layers, which the timed copies turn into events
        this.marks = marks("TimedDecoderLayer", Form.FULL);
        this.timedCode = timed("TimedDecoderLayer", Form.FULL, marks);
        this.timedModule = ScriptModule.of("TimedDecoderLayer", timedCode);
        this.stepMarks = marks("TimedDecodeStepLayer", Form.STEP);
        this.timedStepCode = timed("TimedDecodeStepLayer", Form.STEP, stepMarks);
        this.timedStepModule = ScriptModule.of("TimedDecodeStepLayer", timedStepCode);
    }

    /**
     * The layer's output [B, T, H] for right-padded sequences without a cache, in x's manager.
     * {@code sinSigned} is sin with rotate_half's sign folded in ({@link RotaryEmbedding#table}).
     */
    public NDArray forward(NDArray x, NDArray cos, NDArray sinSigned, LayerWeights w) {
        return module.forwardFused(inputs(new NDList(x, cos, sinSigned), w)).singletonOrThrow();
    }

    /**
     * The layer's output [B, T, H] after cached positions, in x's manager: this step's keys and
     * values are written into the cache's buffers [B, kvHeads, capacity, d] at the positions
     * before the bias's last one, and x attends over every position up to it.
     *
     * @param cos cos and the sign-folded sin, broadcastable to [B, 1, T, d]
     * @param bias additive attention bias [B or 1, 1, 1, T, positions], in x's dtype
     */
    public NDArray forwardCached(NDArray x, NDArray cos, NDArray sinSigned, NDArray bias, NDArray keys, NDArray values,
                                 LayerWeights w) {
        return cachedModule.forwardFused(inputs(new NDList(x, cos, sinSigned, bias, keys, values), w)).singletonOrThrow();
    }

    /** The timed copy's TorchScript source (tests run it on the CPU with stand-ins for the events). */
    String timedCode() {
        return timedCode;
    }

    /** The timed decode-step copy's source, as {@link #timedCode}. */
    String timedStepCode() {
        return timedStepCode;
    }

    /** The names of the layer's sections, in the order {@link #sectionMillis} times them. */
    public List<String> sectionNames() {
        return marks.subList(1, marks.size());
    }

    /** The names of the decode-step layer's sections, in the order {@link #stepSectionMillis} times them. */
    public List<String> stepSectionNames() {
        return stepMarks.subList(1, stepMarks.size());
    }

    /**
     * GPU milliseconds of each section of one decode-step layer call (form STEP, as {@link
     * DecodeScript}'s step runs it for every layer), on a GPU only, as {@link #sectionMillis}:
     * x [B, 1, H], cos and sin_signed [B, 1, 1, d], the attention bias [B, 1, 1, end], the slot
     * buffers [slots, kvHeads, capacity, d] (this step's keys and values are written into them)
     * each row's flat write index ({@code decode.torchscript}'s {@code flat}) and its length
     * (int32).
     */
    public float[] stepSectionMillis(NDArray x, NDArray cos, NDArray sinSigned, NDArray bias, NDArray keys,
                                     NDArray values, NDArray flat, NDArray lengths, LayerWeights w) {
        if (!x.getDevice().isGpu()) {
            throw new IllegalStateException("section times come from CUDA events: they need a GPU");
        }
        NDList leading = new NDList(x, cos, sinSigned, bias, keys, values, flat, lengths);
        try (NDList out = timedStepModule.forwardFused(inputs(leading, w))) {
            return out.get(1).toFloatArray();
        }
    }

    /**
     * GPU milliseconds of each section of one full-sequence layer call, on a GPU only: the same
     * script, run the same way (fused), with a CUDA event recorded at each section mark; the call
     * waits for the last event. The marks sit where the script's fused kernels end anyway (a
     * GEMM, the attention kernel), so the timed layer runs the kernels of the untimed one. The
     * input x is left as it was.
     */
    public float[] sectionMillis(NDArray x, NDArray cos, NDArray sinSigned, LayerWeights w) {
        if (!x.getDevice().isGpu()) {
            throw new IllegalStateException("section times come from CUDA events: they need a GPU");
        }
        try (NDList out = timedModule.forwardFused(inputs(new NDList(x, cos, sinSigned), w))) {
            return out.get(1).toFloatArray();
        }
    }

    /** {@code leading} followed by the weights, in the scripts' parameter order. */
    NDList inputs(NDList leading, LayerWeights w) {
        NDList in = new NDList(leading);
        in.addAll(weightInputs(w));
        return in;
    }

    /** The weights alone, in the order of {@link #weightNames}. */
    NDList weightInputs(LayerWeights w) {
        NDList in = new NDList(w.inputNorm(), w.qkv(), w.o(), w.postNorm(), w.gateUp(), w.down());
        if (qkvBias) {
            in.add(w.qkvBias());
        }
        if (qkNorm) {
            in.add(w.qNorm());
            in.add(w.kNorm());
        }
        return in;
    }

    /**
     * A timed copy: the layer in {@code form} as {@code forward}, each section mark a CUDA event
     * ({@code section-event.torchscript}), returning the milliseconds between consecutive events
     * (a CPU tensor) after the layer's output, which keeps its ops from being dead code.
     */
    private String timed(String className, Form form, List<String> marks) {
        List<String> gaps = new ArrayList<>();
        for (int i = 1; i < marks.size(); i++) {
            gaps.add("e" + (i - 1) + ".elapsed_time(e" + i + ")");
        }
        Map<String, Object> keys = keys("forward", form);
        keys.put("returns", "Tuple[Tensor, Tensor]");
        keys.put("result", TIMED_RESULT);
        keys.put("last", marks.size() - 1);
        keys.put("gaps", String.join(", ", gaps));
        return ScriptTemplate.methods(className, keys, (i, name) -> EVENT.render(Map.of("event", i)), List.of(LAYER))
                + fragments.methods(className);
    }

    /** The section marks of the layer in {@code form}, the first the start. */
    private List<String> marks(String className, Form form) {
        Map<String, Object> keys = keys("forward", form);
        keys.put("class", className);
        return LAYER.marks(keys);
    }

    /** The names of a layer's weight parameters, in the order of {@link #weightInputs}. */
    List<String> weightNames() {
        List<String> names = new ArrayList<>(List.of("in_norm", "qkv", "o", "post_norm", "gate_up", "down"));
        if (qkvBias) {
            names.add("qkv_bias");
        }
        if (qkNorm) {
            names.addAll(List.of("q_norm", "k_norm"));
        }
        return names;
    }

    /** A module of class {@code className} whose forward is the layer in {@code form}. */
    private String module(String className, Form form) {
        return layerMethod(className, "forward", form) + helperMethods(className);
    }

    /**
     * The layer in {@code form} as the method {@code method} of module class {@code className}:
     * x, cos and sin_signed, the form's parameters, then the weights.
     */
    String layerMethod(String className, String method, Form form) {
        return ScriptTemplate.methods(className, keys(method, form), ScriptTemplate.COMMENTS, List.of(LAYER));
    }

    /** The shared methods that the layer methods call, for module class {@code className}. */
    String helperMethods(String className) {
        return fragments.methods(className);
    }

    /** The layer template's values for the method {@code method} in {@code form}. */
    private Map<String, Object> keys(String method, Form form) {
        long qDim = (long) c.numHeads() * c.headDim();
        long kvDim = (long) c.numKvHeads() * c.headDim();
        Map<String, Object> keys = new HashMap<>(Map.of("method", method, "returns", "Tensor", "result", "return y",
                "form_parameters", form.parameters, "attention", form.attention,
                "weight_parameters", String.join(", ", weightNames().stream().map(w -> w + ": Tensor").toList()),
                "qkv_bias", qkvBias ? "qkv_bias" : "None", "q_norm", qkNorm ? "q_norm" : "None",
                "k_norm", qkNorm ? "k_norm" : "None", "heads", c.numHeads()));
        keys.putAll(Map.of("kv_heads", c.numKvHeads(), "head_dim", c.headDim(), "q_dim", qDim, "qk_dim", qDim + kvDim,
                "intermediate", c.intermediateSize()));
        if (form == Form.PREFILL) {
            keys.put("causal_attention", Form.FULL.attention);
        }
        if (form == Form.FULL || form == Form.PREFILL) {
            keys.put("gqa", c.numHeads() > c.numKvHeads());
        }
        return keys;
    }
}
