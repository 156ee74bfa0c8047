package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The one-call path ({@link DecodeScript} over a {@link SlotCache}) against the per-layer path (a
 * {@link LayerScript} call per layer after a {@link KvCache}, one row at a time) and against the
 * full forward of a reference model (fp32 on the CPU), teacher-forced: three rows of different
 * prompt lengths (40, 25 and 57 random tokens) in slots 2, 0 and 1 of a 4-slot cache, prefilled
 * in one call, then {@code steps - 1} decode steps of all four slots together, each row at its own
 * position (slot 3 stays free and computes too), then an extension of the three rows by 9, 3 and
 * 14 tokens in one call (the rows in another order, padded to 14), then one decode step more.
 * Logits of every step, the extension's last positions and every row, as a fraction of the
 * reference's largest magnitude. Shared by {@code DecodeScriptTest} (CPU, fp32) and
 * {@link GpuDecodeStepCheck}.
 */
final class DecodeScriptComparison {
    private static final int[] LENGTHS = {40, 25, 57};
    private static final long[] SLOTS = {2, 0, 1};
    /** New tokens per row in the extension, and the order in which the rows go into its call. */
    private static final int[] EXTENDED = {9, 3, 14};
    private static final int[] EXTEND_ORDER = {1, 2, 0};
    private static final int LONGEST_EXTENSION = 14;

    /** The largest differences: one call against the reference, per-layer against it, one call against per-layer. */
    record Errors(double oneCall, double perLayer, double between) {}

    private DecodeScriptComparison() {}

    static Errors run(TargetModel model, TargetModel reference, int steps) {
        long v = model.config().vocabSize();
        Random random = new Random(7);
        long[][] rows = new long[LENGTHS.length][];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = random.longs(LENGTHS[r] + steps + LONGEST_EXTENSION + 1, 0, v).toArray();
        }
        float[][][] oneCall = oneCall(model, rows, steps);
        double[] errors = new double[3];
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (int r = 0; r < rows.length; r++) {
                float[] full = reference.forward(m, List.of(rows[r]), ForwardRequest.logitsOnly()).logits()
                        .toFloatArray();
                float[][] perLayer = perLayer(model, rows[r], LENGTHS[r], steps);
                for (int s = 0; s < steps + 2; s++) {
                    int at = position(r, s, steps);
                    float[] expected = Arrays.copyOfRange(full, (int) (at * v), (int) ((at + 1) * v));
                    double max = maxAbs(expected);
                    errors[0] = Math.max(errors[0], diff(expected, oneCall[r][s]) / max);
                    if (s < steps) { // the per-layer path runs the prefill and the steps
                        errors[1] = Math.max(errors[1], diff(expected, perLayer[s]) / max);
                        errors[2] = Math.max(errors[2], diff(perLayer[s], oneCall[r][s]) / max);
                    }
                }
            }
        }
        return new Errors(errors[0], errors[1], errors[2]);
    }

    /**
     * The position whose logits call {@code s} gives row {@code r}: the prefill's last, steps - 1
     * decode steps', the extension's last, the step after it.
     */
    private static int position(int r, int s, int steps) {
        int before = LENGTHS[r] + steps - 1; // positions cached before the extension
        return s < steps ? LENGTHS[r] - 1 + s : s == steps ? before + EXTENDED[r] - 1 : before + EXTENDED[r];
    }

    /**
     * [row][call][vocab]: the prefill's last-position logits, those of steps - 1 decode steps, the
     * extension's last position's, the step's after it.
     */
    private static float[][][] oneCall(TargetModel model, long[][] rows, int steps) {
        int n = rows.length;
        int slots = n + 1;
        int t = Arrays.stream(LENGTHS).max().orElseThrow();
        long[] ids = new long[n * t];
        long[] lengths = new long[n];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows[r], 0, ids, r * t, LENGTHS[r]);
            lengths[r] = LENGTHS[r];
        }
        float[][][] out = new float[n][steps + 2][];
        DecodeScript script = model.decodeScript();
        try (SlotCache cache = new SlotCache(model.device(), model.config(), model.dtype(), slots,
                t + steps + LONGEST_EXTENSION + 1);
             NDManager m = model.weightsManager().newSubManager()) {
            cache.ensure(t);
            float[][] first = rows(script.prefillLogits(m, ids, t, lengths, SLOTS, cache));
            for (int r = 0; r < n; r++) {
                out[r][0] = first[r];
            }
            for (int s = 1; s < steps; s++) {
                long[] stepIds = new long[slots];
                long[] pos = new long[slots];
                long longest = 0;
                for (int r = 0; r < n; r++) {
                    int slot = (int) SLOTS[r];
                    pos[slot] = LENGTHS[r] + s - 1;
                    stepIds[slot] = rows[r][(int) pos[slot]];
                    longest = Math.max(longest, pos[slot] + 1);
                }
                cache.ensure(longest);
                float[][] logits = rows(script.stepLogits(m, stepIds, pos, DecodeScript.attended(longest, cache),
                        cache));
                for (int r = 0; r < n; r++) {
                    out[r][s] = logits[(int) SLOTS[r]];
                }
            }
            float[][] extended = extend(script, m, cache, rows, steps);
            long[] stepIds = new long[slots];
            long[] pos = new long[slots];
            long longest = 0;
            for (int r = 0; r < n; r++) {
                out[r][steps] = extended[r];
                pos[(int) SLOTS[r]] = position(r, steps + 1, steps);
                stepIds[(int) SLOTS[r]] = rows[r][(int) pos[(int) SLOTS[r]]];
                longest = Math.max(longest, pos[(int) SLOTS[r]] + 1);
            }
            float[][] logits = rows(script.stepLogits(m, stepIds, pos, DecodeScript.attended(longest, cache), cache));
            for (int r = 0; r < n; r++) {
                out[r][steps + 1] = logits[(int) SLOTS[r]];
            }
        }
        return out;
    }

    /** The extension of every row by its EXTENDED tokens in one call, in EXTEND_ORDER; [row][vocab]. */
    private static float[][] extend(DecodeScript script, NDManager m, SlotCache cache, long[][] rows, int steps) {
        int k = EXTEND_ORDER.length;
        int t = LONGEST_EXTENSION;
        long[] ids = new long[k * t];
        long[] lengths = new long[k];
        long[] starts = new long[k];
        long[] slots = new long[k];
        long longest = 0;
        for (int i = 0; i < k; i++) {
            int r = EXTEND_ORDER[i];
            starts[i] = LENGTHS[r] + steps - 1;
            lengths[i] = EXTENDED[r];
            slots[i] = SLOTS[r];
            System.arraycopy(rows[r], (int) starts[i], ids, i * t, EXTENDED[r]);
            longest = Math.max(longest, starts[i] + t);
        }
        cache.ensure(longest);
        float[][] logits = rows(script.extendLogits(m, ids, t, lengths, starts, slots,
                DecodeScript.attended(longest, cache), cache));
        float[][] out = new float[k][];
        for (int i = 0; i < k; i++) {
            out[EXTEND_ORDER[i]] = logits[i];
        }
        return out;
    }

    /** [step][vocab] of one row alone through the per-layer path. */
    private static float[][] perLayer(TargetModel model, long[] row, int length, int steps) {
        float[][] out = new float[steps][];
        try (KvCache cache = new KvCache(model.device(), model.config().numLayers())) {
            for (int s = 0; s < steps; s++) {
                long[] tokens = s == 0 ? Arrays.copyOf(row, length) : new long[] {row[length + s - 1]};
                try (NDManager m = NDManager.newBaseManager(model.device())) {
                    NDArray logits = model.extend(m, tokens, cache, ForwardRequest.logitsOnly()).logits();
                    float[][] all = rows(logits.get("0"));
                    out[s] = all[all.length - 1];
                }
            }
        }
        return out;
    }

    private static float[][] rows(NDArray logits) {
        long v = logits.getShape().get(logits.getShape().dimension() - 1);
        float[] flat = logits.toType(DataType.FLOAT32, false).toFloatArray();
        float[][] out = new float[(int) (flat.length / v)][];
        for (int r = 0; r < out.length; r++) {
            out[r] = Arrays.copyOfRange(flat, (int) (r * v), (int) ((r + 1) * v));
        }
        return out;
    }

    private static double diff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float x : a) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }
}
