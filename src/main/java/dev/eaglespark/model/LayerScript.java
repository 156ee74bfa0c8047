package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A whole decoder layer's forward as one TorchScript call, in two forms: full sequences (no cache,
 * right-padded, causal) and steps after a KV cache (prefill, decoding, speculative verification),
 * which writes the step's keys and values into the cache's buffers in place and attends over
 * them with an additive bias. Both compute in the same dtypes, with RMSNorm as
 * transformers computes it (fp32 statistics, x * rsqrt(mean(x^2) + eps) in fp32, cast back, times
 * the weight); the full-sequence attention runs in the fused flash kernel, which reads the KV heads
 * once per group (no repeated copies), the cached one as two batched GEMMs with a KV head's
 * query group folded into the rows (no copies either). Through DJL each op costs a JNI call of
 * tens of microseconds, about 40 per layer; here the layer is one, and on a GPU it runs through
 * the optimizing executor ({@link ScriptModule#forwardFused}), which turns each chain of
 * elementwise ops into one generated kernel. The ops are written for that: the norm statistics
 * come from a norm accumulated in fp32 (no fp32 copy of x), the rotary embedding is x * cos +
 * swap_halves(x) * sin' with rotate_half's sign folded into sin' (a cat the fuser takes, where it
 * stops at a roll), and both residual adds are the beta = 1 term of their projection's GEMM. The
 * wide passes are kept away from the fuser, whose generated kernels run at about a third of the
 * memory bandwidth there (measured: docs/BENCHMARKS.md): the norm's scaling writes fp16 straight
 * from the fp32 product ({@code out=}, the rounding of a cast) and takes the weight in place, and
 * gate and up are two GEMMs with contiguous outputs, so SwiGLU is ATen's vectorized silu_ and
 * mul_ in place (in-place ops are never fused). Comments starting
 * "#| " mark the bounds of the layer's sections, for {@link #sectionMillis}.
 */
public final class LayerScript {
    /**
     * Where a layer's attention finds its keys and values. The forms share every other line of
     * the layer (norms, projections, rotary, MLP); they differ in their extra parameters (after
     * x, cos and sin_signed) and in the attention section.
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
         * with a bias [B, 1, 1, positions] of each row's own length, in one fused attention call.
         */
        STEP(" bias: Tensor, k_cache: Tensor, v_cache: Tensor, flat: Tensor,");

        private final String parameters;

        Form(String parameters) {
            this.parameters = parameters;
        }

        /** The form's parameter names, in order, as a call passes them. */
        List<String> parameterNames() {
            return java.util.Arrays.stream(parameters.split(","))
                    .map(String::strip).filter(p -> !p.isEmpty()).map(p -> p.substring(0, p.indexOf(':'))).toList();
        }
    }

    /** A section bound in the script (a comment), followed by the name of the section it ends ("start" ends none). */
    private static final String MARK = "#| ";

    private final TargetConfig c;
    private final ScriptModule module;
    private final ScriptModule cachedModule;
    private final String timedCode;
    private final ScriptModule timedModule; // loaded on its first call, which only a GPU makes
    private final boolean qkvBias;
    private final boolean qkNorm;

    public LayerScript(TargetConfig cfg) {
        this.qkvBias = cfg.qkvBias();
        this.qkNorm = cfg.architecture().qkNorm();
        this.c = cfg;
        this.module = ScriptModule.of("FusedDecoderLayer", module("FusedDecoderLayer", Form.FULL));
        this.cachedModule = ScriptModule.of("CachedDecoderLayer", module("CachedDecoderLayer", Form.CACHED));
        this.timedCode = timed(module("TimedDecoderLayer", Form.FULL));
        this.timedModule = ScriptModule.of("TimedDecoderLayer", timedCode);
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

    /** The names of the layer's sections, in the order {@link #sectionMillis} times them. */
    public List<String> sectionNames() {
        return timedCode.lines().map(String::strip).filter(l -> l.startsWith("# section "))
                .map(l -> l.substring("# section ".length())).toList();
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
     * The script with a CUDA event at each section mark, returning the milliseconds between
     * consecutive events (a CPU tensor) after the layer's output (which keeps its ops from being
     * dead code). Each mark's name is kept as a "# section" comment, which {@link #sectionNames}
     * reads.
     */
    private static String timed(String code) {
        StringBuilder out = new StringBuilder();
        int events = 0;
        // forward, the first method, returns its output and the times
        String twoResults = code.replaceFirst("\\) -> Tensor:", ") -> Tuple[Tensor, Tensor]:");
        for (String line : twoResults.lines().toList()) {
            String body = line.strip();
            String indent = line.substring(0, line.indexOf(body));
            if (body.startsWith(MARK)) {
                if (events > 0) {
                    out.append(indent).append("# section ").append(body.substring(MARK.length())).append('\n');
                }
                out.append(indent).append("e").append(events)
                        .append(" = __torch__.torch.classes.cuda.Event(True, False, False)\n")
                        .append(indent).append("e").append(events)
                        .append(".record(ops.cuda.current_stream(torch.get_device(x)))\n");
                events++;
            } else if (body.equals("return y")) { // forward's end
                List<String> gaps = new ArrayList<>();
                for (int i = 1; i < events; i++) {
                    gaps.add("e" + (i - 1) + ".elapsed_time(e" + i + ")");
                }
                out.append(indent).append("e").append(events - 1).append(".synchronize()\n")
                        .append(indent).append("return (y, torch.tensor([").append(String.join(", ", gaps))
                        .append("], dtype=None, device=None, requires_grad=False))\n");
            } else {
                out.append(line).append('\n');
            }
        }
        return out.toString();
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
        return (layerMethod("forward", form) + helperMethods(EnumSet.of(form))).replace("$CLASS", className);
    }

    /**
     * The layer as the method {@code name} of a class called {@code $CLASS} (replaced by the
     * caller), in {@code form}: x, cos and sin_signed, the form's parameters, then the weights.
     * Every form shares every line but the attention section's.
     */
    String layerMethod(String name, Form form) {
        long qDim = (long) c.numHeads() * c.headDim();
        long kvDim = (long) c.numKvHeads() * c.headDim();
        String flash = """
                    a = torch.scaled_dot_product_attention(q, k, v, None, 0., True, enable_gqa=%s)
                    #| causal attention (flash)
                    a = torch.reshape(torch.transpose(a, 1, 2), [b * t, %d])
                """.formatted(c.numHeads() > c.numKvHeads() ? "True" : "False", qDim);
        String attention = switch (form) {
            case FULL -> flash;
            case PREFILL -> """
                    _k = self.put_rows(k_cache, k, slots)
                    _v = self.put_rows(v_cache, v, slots)
                """ + flash;
            case CACHED -> """
                    keys = self.cache(k_cache, k, end)
                    values = self.cache(v_cache, v, end)
                    a = self.attend(q, keys, values, bias, b, t)
                    #| attention over the cache
                """;
            case STEP -> """
                    keys = self.put_at(k_cache, k, flat, end)
                    values = self.put_at(v_cache, v, flat, end)
                    a = self.attend_slots(q, keys, values, bias, b)
                    #| attention over the slots
                """;
        };
        boolean biased = form == Form.CACHED || form == Form.STEP;
        return """
                  def %s(self: __torch__.$CLASS,
                      x: Tensor, cos: Tensor, sin_signed: Tensor,%s %s) -> Tensor:
                    b = torch.size(x, 0)
                    t = torch.size(x, 1)
                    x2 = torch.reshape(x, [b * t, torch.size(x, 2)])
                %s    #| start
                    n = self.rms_norm(x, in_norm)
                    #| input RMSNorm
                    p = torch.linear(n, qkv%s)
                    #| QKV projection GEMM
                    q = self.heads(torch.slice(p, -1, 0, %d), b, t, %d%s)
                    k = self.heads(torch.slice(p, -1, %d, %d), b, t, %d%s)
                    v = torch.transpose(torch.reshape(torch.slice(p, -1, %d), [b, t, %d, %d]), 1, 2)
                    q = self.rope(q, cos, sin_signed)
                    k = self.rope(k, cos, sin_signed)
                    #| split to heads + rotary (q and k)
                %s    h = torch.addmm(x2, a, torch.t(o))
                    #| output projection GEMM + residual
                    n = self.rms_norm(h, post_norm)
                    #| post-attention RMSNorm
                    g = torch.linear(n, torch.slice(gate_up, 0, 0, %d))
                    u = torch.linear(n, torch.slice(gate_up, 0, %d))
                    #| gate/up projection GEMM
                    act = torch.mul_(torch.silu_(g), u)
                    #| SwiGLU
                    y = torch.reshape(torch.addmm_(h, act, torch.t(down)), [b, t, torch.size(x, 2)])
                    #| down projection GEMM + residual
                    return y
                """.formatted(name, form.parameters,
                String.join(", ", weightNames().stream().map(w -> w + ": Tensor").toList()),
                biased ? "    end = torch.size(bias, -1)\n" : "",
                qkvBias ? ", qkv_bias" : "",
                qDim, c.numHeads(), qkNorm ? ", q_norm" : ", None",
                qDim, qDim + kvDim, c.numKvHeads(), qkNorm ? ", k_norm" : ", None",
                qDim + kvDim, c.numKvHeads(), c.headDim(),
                attention,
                c.intermediateSize(), c.intermediateSize());
    }

    /** The methods that the layer methods of {@code forms} call. */
    String helperMethods(Set<Form> forms) {
        int groups = c.numHeads() / c.numKvHeads();
        long qDim = (long) c.numHeads() * c.headDim();
        String eps = String.format(Locale.ROOT, "%.17g", c.rmsNormEps());
        String scale = String.format(Locale.ROOT, "%.17g", 1.0 / Math.sqrt(c.headDim()));
        StringBuilder out = new StringBuilder("""
                  def rms_norm(self: __torch__.$CLASS, x: Tensor, w: Tensor) -> Tensor:
                    norm = torch.linalg_vector_norm(x, 2, [-1], True, dtype=6)
                    variance = torch.div(torch.square(norm), torch.size(x, -1))
                    r = torch.rsqrt(torch.add(variance, %s))
                    out = torch.empty_like(x)
                    _1 = torch.mul(x, r, out=out)
                    return torch.mul_(out, w)
                  def heads(self: __torch__.$CLASS, x: Tensor, b: int, t: int, n: int,
                      norm: Optional[Tensor]) -> Tensor:
                    y = torch.reshape(x, [b, t, n, %d])
                    if norm is not None:
                      y = self.rms_norm(y, norm)
                    return torch.transpose(y, 1, 2)
                  def rope(self: __torch__.$CLASS, x: Tensor, cos: Tensor, sin_signed: Tensor) -> Tensor:
                    half = %d
                    swapped = torch.cat([torch.slice(x, -1, half), torch.slice(x, -1, 0, half)], -1)
                    return torch.add(torch.mul(x, cos), torch.mul(swapped, sin_signed))
                """.formatted(eps, c.headDim(), c.headDim() / 2));
        if (forms.contains(Form.CACHED)) {
            out.append("""
                  def attend(self: __torch__.$CLASS, q: Tensor, k: Tensor, v: Tensor, bias: Tensor, b: int,
                      t: int) -> Tensor:
                    s = torch.size(k, 2)
                    q4 = torch.reshape(torch.mul(q, %s), [b, %d, %d * t, %d])
                    scores = torch.reshape(torch.matmul(q4, torch.transpose(k, 2, 3)), [b, %d, %d, t, s])
                    probs = torch.reshape(torch.softmax(torch.add(scores, bias), -1), [b, %d, %d * t, s])
                    out = torch.reshape(torch.matmul(probs, v), [b, %d, t, %d])
                    return torch.reshape(torch.transpose(out, 1, 2), [b * t, %d])
                """.formatted(scale, c.numKvHeads(), groups, c.headDim(), c.numKvHeads(), groups,
                    c.numKvHeads(), groups, c.numHeads(), c.headDim(), qDim));
        }
        if (forms.contains(Form.CACHED)) {
            // this step's positions are the last before end, in every row
            out.append("""
                  def cache(self: __torch__.$CLASS, buffer: Tensor, step: Tensor, end: int) -> Tensor:
                    _0 = torch.copy_(torch.slice(buffer, 2, end - torch.size(step, 2), end), step)
                    return torch.slice(buffer, 2, 0, end)
                """);
        }
        if (forms.contains(Form.PREFILL)) {
            // positions [0, T) of the rows named by slots; a row's padding lands past its length
            out.append("""
                  def put_rows(self: __torch__.$CLASS, buffer: Tensor, step: Tensor, slots: Tensor) -> Tensor:
                    return torch.index_put_(torch.slice(buffer, 2, 0, torch.size(step, 2)), [slots], step)
                """);
        }
        if (forms.contains(Form.STEP)) {
            // One query per row: a KV head's query group becomes that head's queries, so the fused
            // attention kernel reads each head's keys and values once, the bias broadcast over them.
            out.append("""
                  def attend_slots(self: __torch__.$CLASS, q: Tensor, k: Tensor, v: Tensor, bias: Tensor,
                      b: int) -> Tensor:
                    q4 = torch.reshape(q, [b, %d, %d, %d])
                    a = torch.scaled_dot_product_attention(q4, k, v, bias, 0., False)
                    return torch.reshape(a, [b, %d])
                """.formatted(c.numKvHeads(), groups, c.headDim(), qDim));
            // Row r's token at its position in slot r (index_copy_ into the buffer's flat view: a
            // plain kernel, where index_put_ with indices in two dimensions costs the host several
            // times as much); then the first B slots' positions [0, end).
            out.append("""
                  def put_at(self: __torch__.$CLASS, buffer: Tensor, step: Tensor, flat: Tensor, end: int) -> Tensor:
                    _0 = torch.index_copy_(torch.reshape(buffer, [-1, %d]), 0, flat, torch.reshape(step, [-1, %d]))
                    return torch.slice(torch.slice(buffer, 0, 0, torch.size(step, 0)), 2, 0, end)
                """.formatted(c.headDim(), c.headDim()));
        }
        return out.toString();
    }
}
