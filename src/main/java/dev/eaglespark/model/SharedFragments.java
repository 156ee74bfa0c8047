package dev.eaglespark.model;

import dev.eaglespark.runtime.ScriptTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The TorchScript methods that the target's layer ({@link LayerScript}, {@link DecodeScript}) and
 * the draft's scripts (training and inference) share, written once in
 * {@code scripts/norm.torchscript} (RMSNorm), {@code rotary.torchscript}, {@code attention.torchscript}
 * and {@code kv-cache.torchscript}, rendered for one model's attention shape.
 *
 * @param heads query heads
 * @param kvHeads key and value heads (a divisor of heads)
 * @param headDim the width of a head
 * @param eps RMSNorm's epsilon
 */
public record SharedFragments(int heads, int kvHeads, int headDim, double eps) {
    private static final List<ScriptTemplate> TEMPLATES = List.of(ScriptTemplate.of("norm"),
            ScriptTemplate.of("rotary"), ScriptTemplate.of("attention"), ScriptTemplate.of("kv-cache"));

    /**
     * Decode steps of fewer rows attend through batched GEMMs rather than the fused attention
     * kernel (attention.torchscript's slot_attention); {@code -Deaglespark.scored-rows-below=N}
     * sets it, for measuring both (1: never, 100000: always).
     */
    static final int SCORED_ROWS_BELOW = Integer.getInteger("eaglespark.scored-rows-below", 2);
    /**
     * Decode steps on a GPU attend over each row's own keys only (attention.torchscript's
     * slot_attention): 1.37 times the tokens/s of a bias over every slot's keys on the 256-slot
     * mix (docs/BENCHMARKS.md). {@code -Deaglespark.own-length-attention=false} goes back to the bias.
     */
    static final boolean OWN_LENGTHS = !"false".equals(System.getProperty("eaglespark.own-length-attention"));

    public SharedFragments {
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(heads + " query heads do not group over " + kvHeads + " KV heads");
        }
    }

    /**
     * The shared methods for module class {@code className}, with {@code more} templates that take
     * the same keys (eps, half_head_dim, kv_heads, groups, head_dim, q_dim, scale, scored_rows_below,
     * own_lengths).
     */
    public String methods(String className, ScriptTemplate... more) {
        List<ScriptTemplate> all = new ArrayList<>(TEMPLATES);
        all.addAll(List.of(more));
        return ScriptTemplate.methods(className, Map.of("eps", eps, "half_head_dim", headDim / 2,
                "kv_heads", kvHeads, "groups", heads / kvHeads, "head_dim", headDim,
                "q_dim", (long) heads * headDim, "scale", 1.0 / Math.sqrt(headDim),
                "scored_rows_below", SCORED_ROWS_BELOW, "own_lengths", OWN_LENGTHS ? "True" : "False"),
                ScriptTemplate.COMMENTS, all);
    }
}
