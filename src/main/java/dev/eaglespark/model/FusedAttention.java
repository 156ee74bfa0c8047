package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;

/**
 * Causal attention through PyTorch's {@code scaled_dot_product_attention} (flash attention on
 * the GPU: the [T, T] scores are never written to memory). DJL 0.32 has no binding for it, but
 * it loads TorchScript modules ({@link ScriptModule}). The forward runs the same kernel inside
 * {@link LayerScript}; this standalone call is what the op profile times as one class.
 */
public final class FusedAttention {
    private static final String CODE = """
              def forward(self: __torch__.FusedAttention,
                  q: Tensor,
                  k: Tensor,
                  v: Tensor) -> Tensor:
                groups = torch.size(q, 1) // torch.size(k, 1)
                if groups > 1:
                  k = torch.repeat_interleave(k, groups, 1)
                  v = torch.repeat_interleave(v, groups, 1)
                out = torch.scaled_dot_product_attention(q, k, v, None, 0., True)
                return torch.transpose(out, 1, 2)
            """;
    private static final ScriptModule MODULE = ScriptModule.of("FusedAttention", CODE);

    private FusedAttention() {}

    /**
     * Causal attention over right-padded sequences (padding keys come after every real query's
     * position, so causality alone hides them; padded query rows are garbage, as with the bias).
     *
     * @param q [B, heads, T, d], rotated
     * @param k [B, kvHeads, T, d]
     * @param v [B, kvHeads, T, d]
     * @return [B, T, heads*d] in q's manager
     */
    public static NDArray causal(NDArray q, NDArray k, NDArray v) {
        long[] s = q.getShape().getShape();
        return MODULE.call(q, k, v).reshape(s[0], s[2], s[1] * s[3]);
    }
}
