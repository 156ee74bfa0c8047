package dev.eaglespark.train;

/**
 * Which teacher-forced predictions of one scored micro-batch were right, on the host: for row r,
 * position t and TTT step k, whether step k's argmax at t equals the target's argmax at t + k + 1
 * (the token t + k + 2 of a greedy answer) and the draft vocabulary holds it. Every position of
 * the padded batch is there, whatever the loss mask says.
 *
 * @param hits [rows, length, steps] flattened
 * @param length the batch's padded sequence length
 */
public record StepHits(boolean[] hits, int length, int steps) {
    public StepHits {
        if (hits.length % ((long) length * steps) != 0) {
            throw new IllegalArgumentException(hits.length + " hits for rows of " + length + " x " + steps);
        }
    }

    public int rows() {
        return hits.length / (length * steps);
    }

    public boolean at(int row, int position, int step) {
        return hits[(row * length + position) * steps + step];
    }
}
