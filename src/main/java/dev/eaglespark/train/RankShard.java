package dev.eaglespark.train;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One rank's endless stream of training rows: its share of each epoch in turn (see
 * {@link TrainingData#epoch}), and where it is, for checkpoints.
 */
public final class RankShard<T> {
    private final TrainingData<T> data;
    private final long seed;
    private final int rank;
    private final int world;
    private int epoch;
    private long position;
    private Iterator<T> rows;
    private boolean trainedThisEpoch;

    RankShard(TrainingData<T> data, long seed, int rank, int world, Checkpoints.DataPosition at) {
        this.data = data;
        this.seed = seed;
        this.rank = rank;
        this.world = world;
        this.epoch = at.epoch();
        this.position = at.position();
        this.rows = data.epoch(seed, epoch, rank, world, position);
    }

    /** The next {@code n} records that can be trained on; rejected ones are passed over. */
    List<T> next(int n) throws IOException {
        List<T> out = new ArrayList<>(n);
        boolean freshEpoch = false;
        while (out.size() < n) {
            if (!rows.hasNext()) {
                if (freshEpoch && !trainedThisEpoch) {
                    throw new IOException("rank " + rank + " of " + world + " has nothing to train on in epoch " + epoch
                            + " (" + data.describe() + " in all: fewer units than ranks, or every record rejected?)");
                }
                epoch++;
                position = 0;
                trainedThisEpoch = false;
                freshEpoch = true;
                rows = data.epoch(seed, epoch, rank, world, 0);
                continue;
            }
            T row = rows.next();
            position++;
            if (row != null) {
                out.add(row);
                trainedThisEpoch = true;
            }
        }
        return out;
    }

    Checkpoints.DataPosition position() {
        return new Checkpoints.DataPosition(epoch, position);
    }
}
