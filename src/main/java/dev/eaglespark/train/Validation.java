package dev.eaglespark.train;

import dev.eaglespark.io.OutputPublisher;

import dev.eaglespark.collective.Collective;
import dev.eaglespark.features.FeatureRecord;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * A run's validation split: held-out features scored with exactly the training forward (the
 * same per-step losses and accuracies, the same precision and loss-mask alignment, no
 * gradients), and greedy speculative rounds simulated on its per-position predictions
 * ({@link SpeculativeRounds}, a chain as long as the TTT length). Each rank scores every
 * world-th row in micro-batches of the training's size and walks its own rows; the sums and
 * counts go through the run's collective, so every rank gets the same numbers and picks the same
 * best checkpoint.
 */
final class Validation {
    private final FeatureDataset data;
    private final long limit;
    private final int microBatch;
    private final double decay;
    private final Collective group;

    private Validation(FeatureDataset data, long limit, int microBatch, double decay, Collective group) {
        this.data = data;
        this.limit = limit;
        this.microBatch = microBatch;
        this.decay = decay;
        this.group = group;
    }

    static Validation open(TrainJob.Validation spec, TrainSettings s, Collective group, Configuration conf)
            throws IOException {
        FeatureDataset data = FeatureDataset.open(OutputPublisher.current(spec.features(), conf), conf);
        long limit = spec.maxRows() > 0 ? Math.min(spec.maxRows(), data.rows()) : data.rows();
        if (limit == 0) {
            throw new IOException("the validation features " + spec.features() + " hold no rows");
        }
        return new Validation(data, limit, s.microBatch(), s.stepDecay(), group);
    }

    long rows() {
        return limit;
    }

    /**
     * Scores the split with the trainer's weights after update {@code step}, its micro-batches
     * made by {@code batches} as the training features' are; every rank calls it at the same steps.
     */
    ValidationMetrics run(DraftTrainer trainer, BatchBuilder batches, long step, int ttt) {
        long start = System.nanoTime();
        double[] sums = sums(trainer, batches, data.inOrder(group.rank(), group.worldSize(), limit), microBatch, ttt);
        return metrics(group.allReduceSum(sums), step, ttt, decay, (System.nanoTime() - start) / 1e9);
    }

    /**
     * One rank's sums over {@code rows}, scored in micro-batches of {@code microBatch}: per step
     * the loss sums, correct predictions and denominators; then rows and tokens; then the
     * simulated rounds' counts ({@link SpeculativeRounds#counts}).
     */
    static double[] sums(DraftTrainer trainer, BatchBuilder batches, Iterator<FeatureRecord> rows, int microBatch,
                         int ttt) {
        double[] sums = new double[3 * ttt + 2 + SpeculativeRounds.countsLength(ttt)];
        SpeculativeRounds rounds = new SpeculativeRounds(ttt);
        List<FeatureRecord> batch = new ArrayList<>();
        while (rows.hasNext()) {
            batch.add(rows.next());
            if (batch.size() == microBatch || !rows.hasNext()) {
                DraftTrainer.Score sc = trainer.score(scope -> batches.build(scope, batch));
                for (int k = 0; k < ttt; k++) {
                    sums[k] += sc.lossSums()[k];
                    sums[ttt + k] += sc.correct()[k];
                    sums[2 * ttt + k] += sc.counted()[k];
                }
                sums[3 * ttt] += sc.rows();
                sums[3 * ttt + 1] += sc.tokens();
                for (int r = 0; r < batch.size(); r++) {
                    rounds.addRow(batch.get(r).lossMask(), sc.hits(), r);
                }
                batch.clear();
            }
        }
        double[] counts = rounds.counts();
        System.arraycopy(counts, 0, sums, 3 * ttt + 2, counts.length);
        return sums;
    }

    /** The metrics of {@link #sums} summed over every rank. */
    static ValidationMetrics metrics(double[] total, long step, int ttt, double decay, double seconds) {
        double tokens = total[3 * ttt + 1];
        double[] stepLoss = new double[ttt];
        double[] stepAcc = new double[ttt];
        double loss = 0;
        for (int k = 0; k < ttt; k++) {
            stepLoss[k] = total[k] / tokens;
            stepAcc[k] = total[ttt + k] / Math.max(total[2 * ttt + k], 1);
            loss += Math.pow(decay, k) * stepLoss[k];
        }
        SpeculativeRounds.Result simulated = SpeculativeRounds.of(total, 3 * ttt + 2, ttt);
        return new ValidationMetrics(step, loss, stepLoss, stepAcc, (long) total[3 * ttt], (long) tokens,
                simulated.rounds(), simulated.tau(), simulated.acceptance(), seconds);
    }
}
