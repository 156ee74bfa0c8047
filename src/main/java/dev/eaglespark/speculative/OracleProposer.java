package dev.eaglespark.speculative;

import ai.djl.ndarray.NDArray;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Proposes the target's own greedy continuation: the upper bound of acceptance (every draft accepted). */
public final class OracleProposer implements Proposer {
    private final Generator generator;
    private final List<Long> context = new ArrayList<>();

    public OracleProposer(TargetModel target, long[] prompt) {
        this.generator = new Generator(target, Set.of());
        context.add(prompt[0]); // observe() starts at position 1
    }

    @Override
    public void observe(long[] tokens, NDArray aux) {
        for (long t : tokens) {
            context.add(t);
        }
    }

    @Override
    public long[] propose(int k) {
        long[] ctx = context.stream().mapToLong(Long::longValue).toArray();
        long[] out = generator.generate(List.of(Generator.Request.greedy(ctx, k))).get(0).tokens();
        return java.util.Arrays.copyOf(out, k);
    }

    @Override
    public void close() {
    }
}
