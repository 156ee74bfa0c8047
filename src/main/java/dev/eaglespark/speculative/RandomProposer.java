package dev.eaglespark.speculative;

import ai.djl.ndarray.NDArray;
import java.util.SplittableRandom;

/** Proposes uniformly random tokens: the lower bound of acceptance. */
public final class RandomProposer implements Proposer {
    private final SplittableRandom random;
    private final int vocabSize;

    public RandomProposer(int vocabSize, long seed) {
        this.vocabSize = vocabSize;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public void observe(long[] tokens, NDArray aux) {
    }

    @Override
    public long[] propose(int k) {
        return random.longs(k, 0, vocabSize).toArray();
    }

    @Override
    public void close() {
    }
}
