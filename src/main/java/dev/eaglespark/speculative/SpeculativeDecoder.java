package dev.eaglespark.speculative;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.model.ForwardRequest;
import dev.eaglespark.model.ForwardResult;
import dev.eaglespark.model.KvCache;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Greedy speculative decoding: each round the proposer drafts a chain of k tokens, one target
 * forward checks them all, the longest agreeing prefix is kept plus the target's own next
 * token (the bonus), and the target cache drops the rest. The output equals plain greedy
 * decoding; only the number of target forwards changes.
 */
public final class SpeculativeDecoder {
    /** A generation and how it went: tokens, target forwards (prefill included), accepted drafts per round. */
    public record Result(long[] tokens, int targetForwards, int[] acceptedPerRound) {
        /** Tokens per verification round, the bonus token included (EAGLE's acceptance length tau). */
        public double tau() {
            return Arrays.stream(acceptedPerRound).average().orElse(0) + 1;
        }
    }

    private final TargetModel target;
    private final int[] aux;
    private final int k;
    private final Set<Long> stops;

    public SpeculativeDecoder(TargetModel target, int[] aux, int k, Set<Long> stops) {
        this.target = target;
        this.aux = aux.clone();
        this.k = k;
        this.stops = Set.copyOf(stops);
    }

    public Result generate(long[] prompt, int maxNew, Proposer proposer) {
        List<Long> out = new ArrayList<>();
        List<Integer> accepted = new ArrayList<>();
        int forwards = 0;
        ForwardRequest req = new ForwardRequest(aux, true, false, false);
        try (NDManager m = NDManager.newBaseManager(target.device());
             KvCache cache = new KvCache(target.device(), target.config().numLayers())) {
            long next;
            try (NDManager scope = m.newSubManager()) {
                ForwardResult r = target.extend(scope, prompt, cache, req);
                forwards++;
                // Only the last prompt position's prediction is needed: the head runs on that row alone.
                next = argmax(r.lastHidden().get(":, -1:"))[0];
                long[] shifted = new long[prompt.length];
                System.arraycopy(prompt, 1, shifted, 0, prompt.length - 1);
                shifted[prompt.length - 1] = next;
                proposer.observe(shifted, r.fusedAux(aux));
            }
            boolean done = add(out, next, maxNew);
            while (!done) {
                long[] drafts = proposer.propose(k);
                long[] verify = new long[k + 1];
                verify[0] = next;
                System.arraycopy(drafts, 0, verify, 1, k);
                long before = cache.length();
                try (NDManager scope = m.newSubManager()) {
                    ForwardResult r = target.extend(scope, verify, cache, req);
                    forwards++;
                    long[] preds = argmax(r);
                    int a = 0;
                    while (a < k && preds[a] == drafts[a]) {
                        a++;
                    }
                    accepted.add(a);
                    cache.truncate(before + a + 1);
                    long[] observed = new long[a + 1];
                    System.arraycopy(drafts, 0, observed, 0, a);
                    observed[a] = preds[a];
                    proposer.observe(observed, r.fusedAux(aux).get(":, :{}", a + 1));
                    for (long t : observed) {
                        done = add(out, t, maxNew);
                        if (done) {
                            break;
                        }
                    }
                    next = preds[a];
                }
            }
        }
        return new Result(out.stream().mapToLong(Long::longValue).toArray(), forwards,
                accepted.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Appends a token; true when generation is over (a stop token, or the length cap). */
    private boolean add(List<Long> out, long token, int maxNew) {
        out.add(token);
        return stops.contains(token) || out.size() >= maxNew;
    }

    private long[] argmax(ForwardResult r) {
        return argmax(r.lastHidden());
    }

    private long[] argmax(NDArray lastHidden) {
        return target.logitsOf(lastHidden).argMax(-1).toType(DataType.INT64, false).toLongArray();
    }

}
