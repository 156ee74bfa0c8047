package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

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
    /** A section bound in the script (a comment), followed by the name of the section it ends ("start" ends none). */
    private static final String MARK = "#| ";

    private final ScriptModule module;
    private final ScriptModule cachedModule;
    private final String timedCode;
    private final ScriptModule timedModule; // loaded on its first call, which only a GPU makes
    private final boolean qkvBias;
    private final boolean qkNorm;

    public LayerScript(TargetConfig cfg) {
        this.qkvBias = cfg.qkvBias();
        this.qkNorm = cfg.architecture().qkNorm();
        this.module = ScriptModule.of("FusedDecoderLayer", code(cfg, "FusedDecoderLayer", false));
        this.cachedModule = ScriptModule.of("CachedDecoderLayer", code(cfg, "CachedDecoderLayer", true));
        this.timedCode = timed(code(cfg, "TimedDecoderLayer", false));
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
        in.addAll(new NDList(w.inputNorm(), w.qkv(), w.o(), w.postNorm(), w.gateUp(), w.down()));
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

    /**
     * The layer's TorchScript: {@code cached} adds the bias, the KV buffers and the attention over
     * them; otherwise the causal flash attention over the sequence alone.
     * Both share every other line.
     */
    private String code(TargetConfig c, String className, boolean cached) {
        long qDim = (long) c.numHeads() * c.headDim();
        long kvDim = (long) c.numKvHeads() * c.headDim();
        int groups = c.numHeads() / c.numKvHeads();
        String eps = String.format(Locale.ROOT, "%.17g", c.rmsNormEps());
        String scale = String.format(Locale.ROOT, "%.17g", 1.0 / Math.sqrt(c.headDim()));
        String attention = cached ? """
                    keys = self.cache(k_cache, k, end)
                    values = self.cache(v_cache, v, end)
                    a = self.attend(q, keys, values, bias, b, t)
                    #| attention over the cache
                """ : """
                    a = torch.scaled_dot_product_attention(q, k, v, None, 0., True, enable_gqa=%s)
                    #| causal attention (flash)
                    a = torch.reshape(torch.transpose(a, 1, 2), [b * t, %d])
                """.formatted(c.numHeads() > c.numKvHeads() ? "True" : "False", qDim);
        String cacheMethods = !cached ? "" : """
                  def cache(self: __torch__.$CLASS, buffer: Tensor, step: Tensor, end: int) -> Tensor:
                    _0 = torch.copy_(torch.slice(buffer, 2, end - torch.size(step, 2), end), step)
                    return torch.slice(buffer, 2, 0, end)
                  def attend(self: __torch__.$CLASS, q: Tensor, k: Tensor, v: Tensor, bias: Tensor, b: int,
                      t: int) -> Tensor:
                    s = torch.size(k, 2)
                    q4 = torch.reshape(torch.mul(q, %s), [b, %d, %d * t, %d])
                    scores = torch.reshape(torch.matmul(q4, torch.transpose(k, 2, 3)), [b, %d, %d, t, s])
                    probs = torch.reshape(torch.softmax(torch.add(scores, bias), -1), [b, %d, %d * t, s])
                    out = torch.reshape(torch.matmul(probs, v), [b, %d, t, %d])
                    return torch.reshape(torch.transpose(out, 1, 2), [b * t, %d])
                """.formatted(scale, c.numKvHeads(), groups, c.headDim(), c.numKvHeads(), groups,
                c.numKvHeads(), groups, c.numHeads(), c.headDim(), qDim);
        return """
                  def forward(self: __torch__.$CLASS,
                      x: Tensor, cos: Tensor, sin_signed: Tensor,%s in_norm: Tensor, qkv: Tensor, o: Tensor,
                      post_norm: Tensor, gate_up: Tensor, down: Tensor%s%s) -> Tensor:
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
                %s""".formatted(
                cached ? " bias: Tensor, k_cache: Tensor, v_cache: Tensor," : "",
                qkvBias ? ", qkv_bias: Tensor" : "", qkNorm ? ", q_norm: Tensor, k_norm: Tensor" : "",
                cached ? "    end = torch.size(bias, -1)\n" : "",
                qkvBias ? ", qkv_bias" : "",
                qDim, c.numHeads(), qkNorm ? ", q_norm" : ", None",
                qDim, qDim + kvDim, c.numKvHeads(), qkNorm ? ", k_norm" : ", None",
                qDim + kvDim, c.numKvHeads(), c.headDim(),
                attention,
                c.intermediateSize(), c.intermediateSize(),
                eps,
                c.headDim(),
                c.headDim() / 2,
                cacheMethods).replace("$CLASS", className);
    }
}
