package dev.eaglespark.speculative;

import ai.djl.ndarray.NDArray;

/** Proposes draft tokens for speculative decoding and learns what the target verified. */
public interface Proposer extends AutoCloseable {
    /**
     * The target has fixed more of the sequence: {@code tokens} are the tokens at positions
     * p+1..p+n and {@code aux} [1, n, 3H] the target's fused aux states at positions p..p+n-1
     * (what an EAGLE-3 draft reads: the state at t with the token at t+1).
     */
    void observe(long[] tokens, NDArray aux);

    /** Up to {@code k} tokens that are guessed to follow the sequence observed so far. */
    long[] propose(int k);

    @Override
    void close();
}
