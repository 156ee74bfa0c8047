package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.Map;

/**
 * The draft's two inference steps as TorchScript ({@code scripts/draft/extend.torchscript} and
 * {@code chain.torchscript}), built from the same methods as the train-time-test script
 * ({@link DraftFragments}):
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
        this.extend = DraftFragments.module(cfg, "EagleDraftExtend", Map.of(), ScriptTemplate.of("draft/extend"));
        this.chain = DraftFragments.module(cfg, "EagleDraftChain", Map.of(), ScriptTemplate.of("draft/chain"));
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
}
