package dev.eaglespark.train;

import dev.eaglespark.features.FeatureRecord;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One rank's endless stream of training rows: its share of each epoch in turn (see
 * {@link FeatureDataset#epoch}), and where it is, for checkpoints.
 */
public final class RankShard {
    private final FeatureDataset data;
    private final long seed;
    private final int rank;
    private final int world;
    private int epoch;
    private long position;
    private Iterator<FeatureRecord> rows;

    RankShard(FeatureDataset data, long seed, int rank, int world, Checkpoints.DataPosition at) {
        this.data = data;
        this.seed = seed;
        this.rank = rank;
        this.world = world;
        this.epoch = at.epoch();
        this.position = at.position();
        this.rows = data.epoch(seed, epoch, rank, world, position);
    }

    List<FeatureRecord> next(int n) throws IOException {
        List<FeatureRecord> out = new ArrayList<>(n);
        while (out.size() < n) {
            if (!rows.hasNext()) {
                epoch++;
                position = 0;
                rows = data.epoch(seed, epoch, rank, world, 0);
                if (!rows.hasNext()) {
                    throw new IOException("rank " + rank + " of " + world + " has no feature rows to train on ("
                            + data.units().size() + " row groups in all: fewer than the ranks?)");
                }
            }
            out.add(rows.next());
            position++;
        }
        return out;
    }

    Checkpoints.DataPosition position() {
        return new Checkpoints.DataPosition(epoch, position);
    }
}
