package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.Locale;

/**
 * A whole decoder layer's full-sequence forward (no cache, right-padded, causal) as one
 * TorchScript call: the ops of {@link DecoderLayer#forward} in the same dtypes, with RMSNorm as
 * transformers computes it (fp32 statistics, x * rsqrt(mean(x^2) + eps) in fp32, cast back, times
 * the weight) and attention through the fused kernel, which reads the KV heads once per group
 * (no repeated copies). Through DJL each op costs a JNI call of tens of microseconds, about 40
 * per layer; here the layer is one, and on a GPU it runs through the optimizing executor
 * ({@link ScriptModule#forwardFused}), which turns each chain of elementwise ops into one
 * generated kernel. The ops are written for that: the norm statistics come from a norm
 * accumulated in fp32 (no fp32 copy of x), the rotary embedding is x * cos + swap_halves(x) *
 * sin' with rotate_half's sign folded into sin' (a cat the fuser takes, where it stops at a roll),
 * and both residual adds are the beta = 1 term of their projection's GEMM.
 */
public final class LayerScript {
    private final ScriptModule module;
    private final boolean qkvBias;
    private final boolean qkNorm;

    public LayerScript(TargetConfig cfg) {
        this.qkvBias = cfg.qkvBias();
        this.qkNorm = cfg.architecture().qkNorm();
        this.module = ScriptModule.of("FusedDecoderLayer", code(cfg));
    }

    /**
     * The layer's output [B, T, H], in x's manager. {@code sinSigned} is sin with rotate_half's sign
     * folded in ({@link RopeCache}). Optional weights are null when absent.
     */
    public NDArray forward(NDArray x, NDArray cos, NDArray sinSigned, NDArray inNorm, NDArray qkv, NDArray bias, NDArray o,
                    NDArray qNorm, NDArray kNorm, NDArray postNorm, NDArray gateUp, NDArray down) {
        NDList in = new NDList(x, cos, sinSigned, inNorm, qkv, o, postNorm, gateUp, down);
        if (qkvBias) {
            in.add(bias);
        }
        if (qkNorm) {
            in.add(qNorm);
            in.add(kNorm);
        }
        return module.forwardFused(in).singletonOrThrow();
    }

    private String code(TargetConfig c) {
        long qDim = (long) c.numHeads() * c.headDim();
        long kvDim = (long) c.numKvHeads() * c.headDim();
        String eps = String.format(Locale.ROOT, "%.17g", c.rmsNormEps());
        return """
                  def forward(self: __torch__.FusedDecoderLayer,
                      x: Tensor, cos: Tensor, sin_signed: Tensor, in_norm: Tensor, qkv: Tensor, o: Tensor,
                      post_norm: Tensor, gate_up: Tensor, down: Tensor%s%s) -> Tensor:
                    b = torch.size(x, 0)
                    t = torch.size(x, 1)
                    x2 = torch.reshape(x, [b * t, torch.size(x, 2)])
                    p = torch.linear(self.rms_norm(x, in_norm), qkv%s)
                    q = self.heads(torch.slice(p, -1, 0, %d), b, t, %d%s)
                    k = self.heads(torch.slice(p, -1, %d, %d), b, t, %d%s)
                    v = torch.transpose(torch.reshape(torch.slice(p, -1, %d), [b, t, %d, %d]), 1, 2)
                    q = self.rope(q, cos, sin_signed)
                    k = self.rope(k, cos, sin_signed)
                    a = torch.scaled_dot_product_attention(q, k, v, None, 0., True, enable_gqa=%s)
                    a = torch.reshape(torch.transpose(a, 1, 2), [b * t, %d])
                    h = torch.addmm(x2, a, torch.t(o))
                    m = torch.linear(self.rms_norm(h, post_norm), gate_up)
                    act = torch.mul(torch.silu(torch.slice(m, -1, 0, %d)), torch.slice(m, -1, %d))
                    return torch.reshape(torch.addmm_(h, act, torch.t(down)), [b, t, torch.size(x, 2)])
                  def rms_norm(self: __torch__.FusedDecoderLayer, x: Tensor, w: Tensor) -> Tensor:
                    norm = torch.linalg_vector_norm(x, 2, [-1], True, dtype=6)
                    variance = torch.div(torch.square(norm), torch.size(x, -1))
                    normed = torch.mul(x, torch.rsqrt(torch.add(variance, %s)))
                    return torch.mul(torch.to(normed, ops.prim.dtype(x)), w)
                  def heads(self: __torch__.FusedDecoderLayer, x: Tensor, b: int, t: int, n: int,
                      norm: Optional[Tensor]) -> Tensor:
                    y = torch.reshape(x, [b, t, n, %d])
                    if norm is not None:
                      y = self.rms_norm(y, norm)
                    return torch.transpose(y, 1, 2)
                  def rope(self: __torch__.FusedDecoderLayer, x: Tensor, cos: Tensor, sin_signed: Tensor) -> Tensor:
                    half = %d
                    swapped = torch.cat([torch.slice(x, -1, half), torch.slice(x, -1, 0, half)], -1)
                    return torch.add(torch.mul(x, cos), torch.mul(swapped, sin_signed))
                """.formatted(
                qkvBias ? ", qkv_bias: Tensor" : "", qkNorm ? ", q_norm: Tensor, k_norm: Tensor" : "",
                qkvBias ? ", qkv_bias" : "",
                qDim, c.numHeads(), qkNorm ? ", q_norm" : ", None",
                qDim, qDim + kvDim, c.numKvHeads(), qkNorm ? ", k_norm" : ", None",
                qDim + kvDim, c.numKvHeads(), c.headDim(),
                c.numHeads() > c.numKvHeads() ? "True" : "False",
                qDim,
                c.intermediateSize(), c.intermediateSize(),
                eps,
                c.headDim(),
                c.headDim() / 2);
    }
}
