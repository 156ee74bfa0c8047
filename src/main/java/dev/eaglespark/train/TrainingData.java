package dev.eaglespark.train;

import java.util.Iterator;

/**
 * A training input split into units that each epoch deals to the ranks ({@link DataOrder}):
 * stage-1 features, or conversations read online.
 *
 * @param <T> what one record becomes: a feature row, a tokenized sample
 */
interface TrainingData<T> {
    /** Units of sharding; an epoch needs at least as many as ranks. */
    int unitCount();

    /** Records in all (an online input counts the records it will reject too). */
    long rows();

    /**
     * Rank {@code rank}'s records of {@code epoch} from position {@code skip} on. Every record
     * advances the position; one that cannot be trained on (a rejected conversation) comes out as
     * null.
     */
    Iterator<T> epoch(long seed, int epoch, int rank, int world, long skip);

    /** What the data is, for messages. */
    String describe();
}
