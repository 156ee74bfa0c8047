package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.model.ScriptModule;

/**
 * The draft's two inference steps as TorchScript, built from the same methods as the
 * train-time-test script ({@link DraftFragments}):
 * <ul>
 *   <li>{@code extend}: step 0 over n newly verified positions, whose keys and values are written
 *   into the draft's KV cache in place (as the target's cached layer does); a position attends
 *   causally to every cached position and to the new ones before it, as training's step 0 does.
 *   Returns the last position's output and logits.</li>
 *   <li>{@code chain}: step j of the chain from the last verified position p, after the cached
 *   positions 0..p: the query at p, rotated at p + j, attends to the step-0 keys at positions
 *   0..p and to p's own keys of steps 1..j, exactly as training's step j at position p.</li>
 * </ul>
 * Rotary rows are sliced from whole tables inside the scripts, at positions the cache's length
 * gives, so a step is one call.
 */
final class DraftStepScripts {
    private final ScriptModule extend;
    private final ScriptModule chain;

    DraftStepScripts(DraftConfig cfg) {
        this.extend = ScriptModule.of("EagleDraftExtend", EXTEND.replace("$WEIGHTS", DraftFragments.WEIGHT_PARAMETERS)
                + DraftFragments.methods(cfg, "EagleDraftExtend"));
        this.chain = ScriptModule.of("EagleDraftChain", CHAIN.replace("$WEIGHTS", DraftFragments.WEIGHT_PARAMETERS)
                + DraftFragments.methods(cfg, "EagleDraftChain"));
    }

    /**
     * Step 0 of new positions.
     *
     * @param ids [1, n] the tokens after each new position
     * @param aux [1, n, numAux x Ht] the target's fused states at the new positions
     * @param bias [1, 1, 1, n, cached + n] causal bias after the cache
     * @param keys, values the cache's buffers [1, kvHeads, capacity, d], already counting the n positions
     * @return the last new position's output [1, 1, H] and logits [1, 1, draft vocab]
     */
    NDList extend(NDArray ids, NDArray aux, NDArray cos, NDArray sin, NDArray bias, NDArray keys, NDArray values,
                  Eagle3Draft draft) {
        NDList in = new NDList(ids, aux, cos, sin, bias, keys, values);
        in.addAll(draft.weights());
        return extend.forward(in);
    }

    /**
     * Step j >= 1 of the chain.
     *
     * @param id [1, 1] the token the previous step proposed
     * @param h [1, 1, H] the previous step's output
     * @param cachedKeys, cachedValues the step-0 keys and values of positions 0..p [1, kvHeads, p + 1, d]
     * @param ownKeys, ownValues p's keys and values of steps 1..j-1 [1, kvHeads, j - 1, d]
     * @return the step's output [1, 1, H], its logits [1, 1, draft vocab], and p's keys and values
     *     of steps 1..j
     */
    NDList chain(NDArray id, NDArray h, NDArray cos, NDArray sin, NDArray cachedKeys, NDArray cachedValues,
                 NDArray ownKeys, NDArray ownValues, Eagle3Draft draft) {
        NDList in = new NDList(id, h, cos, sin, cachedKeys, cachedValues, ownKeys, ownValues);
        in.addAll(draft.weights());
        return chain.forward(in);
    }

    private static final String EXTEND = """
              def forward(self: __torch__.EagleDraftExtend,
                  ids: Tensor, aux: Tensor, cos_table: Tensor, sin_table: Tensor, bias: Tensor, k_cache: Tensor,
                  v_cache: Tensor,
                  $WEIGHTS) -> Tuple[Tensor, Tensor]:
                n = torch.size(ids, 1)
                end = torch.size(bias, -1)
                cos = torch.slice(cos_table, 0, end - n, end)
                sin = torch.slice(sin_table, 0, end - n, end)
                h = torch.linear(aux, fc)
                qkv = self.layer_input(ids, h, cos, sin, embed, in_norm, hidden_norm, wq, wk, wv)
                keys = self.cache(k_cache, qkv[1], end)
                values = self.cache(v_cache, qkv[2], end)
                attn = self.scored_attention(qkv[0], [keys], [values], bias, 1, n)
                last = torch.slice(self.layer_output(h, attn, wo, post_norm, gate, up, down), 1, n - 1, n)
                return (last, self.head(last, norm, lm_head))
              def cache(self: __torch__.EagleDraftExtend, buffer: Tensor, step: Tensor, end: int) -> Tensor:
                _0 = torch.copy_(torch.slice(buffer, 2, end - torch.size(step, 2), end), step)
                return torch.slice(buffer, 2, 0, end)
            """;

    private static final String CHAIN = """
              def forward(self: __torch__.EagleDraftChain,
                  id: Tensor, h: Tensor, cos_table: Tensor, sin_table: Tensor, cached_keys: Tensor,
                  cached_values: Tensor, own_keys: Tensor, own_values: Tensor,
                  $WEIGHTS) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
                p = torch.size(cached_keys, 2) - 1
                j = torch.size(own_keys, 2) + 1
                cos = torch.slice(cos_table, 0, p + j, p + j + 1)
                sin = torch.slice(sin_table, 0, p + j, p + j + 1)
                qkv = self.layer_input(id, h, cos, sin, embed, in_norm, hidden_norm, wq, wk, wv)
                own_keys = torch.cat([own_keys, qkv[1]], 2)
                own_values = torch.cat([own_values, qkv[2]], 2)
                keys = [cached_keys]
                values = [cached_values]
                for i in range(j):
                  keys.append(torch.slice(own_keys, 2, i, i + 1))
                  values.append(torch.slice(own_values, 2, i, i + 1))
                no_bias = torch.zeros([0], dtype=ops.prim.dtype(h), layout=None, device=ops.prim.device(h))
                attn = self.scored_attention(qkv[0], keys, values, no_bias, 1, 1)
                out = self.layer_output(h, attn, wo, post_norm, gate, up, down)
                return (out, self.head(out, norm, lm_head), own_keys, own_values)
            """;
}
