package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Greedy continuation by re-running the whole prefix each step (no KV cache): the reference
 * behaviour that faster decoders are checked against.
 */
public final class GreedyDecoder {
    private final TargetModel model;

    public GreedyDecoder(TargetModel model) {
        this.model = model;
    }

    /** Up to {@code maxNew} tokens after {@code prompt}, stopping after any of {@code stopIds}. */
    public long[] generate(long[] prompt, int maxNew, Set<Long> stopIds) {
        long[] seq = Arrays.copyOf(prompt, prompt.length + maxNew);
        int len = prompt.length;
        try (NDManager m = NDManager.newBaseManager(model.device())) {
            for (int step = 0; step < maxNew; step++) {
                long[] prefix = Arrays.copyOf(seq, len);
                try (NDManager stepScope = m.newSubManager()) {
                    NDArray logits = model.forward(stepScope, List.of(prefix), ForwardRequest.logitsOnly()).logits();
                    long next = logits.get(0, len - 1).argMax().toType(ai.djl.ndarray.types.DataType.INT64, false)
                            .getLong();
                    seq[len++] = next;
                    if (stopIds.contains(next)) {
                        break;
                    }
                }
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }
}
