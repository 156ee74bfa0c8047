package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;

/**
 * How far a reduced-precision run of a target (fp16 on GPU) is from an fp32 run of the same
 * weights: per hidden state and for the logits, the largest error relative to the tensor's
 * largest magnitude, that magnitude (fp16 overflows at 65504), and how often the argmax agrees.
 */
public final class PrecisionReport {
    /** One compared tensor: {@code relError} = max|low - ref| / max|ref|. */
    public record Row(String name, double relError, double maxAbsRef, double maxAbsLow) {}

    private final List<Row> rows = new ArrayList<>();
    private double argmaxAgreement;

    public static PrecisionReport compare(TargetModel reference, TargetModel low, List<long[]> sequences) {
        PrecisionReport report = new PrecisionReport();
        int layers = reference.config().numLayers();
        try (NDManager m = NDManager.newBaseManager(reference.device())) {
            ForwardResult a = reference.forward(m, sequences, ForwardRequest.everything(layers));
            ForwardResult b = low.forward(m, sequences, ForwardRequest.everything(layers));
            NDArray valid = validMask(m, sequences);
            for (int i = 0; i <= layers; i++) {
                NDArray ra = i < layers ? a.hidden().get(i) : a.normedHidden();
                NDArray rb = i < layers ? b.hidden().get(i) : b.normedHidden();
                report.rows.add(row("hidden_states[" + i + "]", ra, rb, valid));
            }
            report.rows.add(row("logits", a.logits(), b.logits(), valid));
            NDArray same = a.logits().argMax(-1).eq(b.logits().argMax(-1)).toType(DataType.FLOAT32, false);
            NDArray v = valid.squeeze(-1);
            report.argmaxAgreement = same.mul(v).sum().getFloat() / v.sum().getFloat();
        }
        return report;
    }

    /** [B, T, 1] with 1 on real tokens and 0 on padding, so padding never counts. */
    private static NDArray validMask(NDManager m, List<long[]> sequences) {
        int t = sequences.stream().mapToInt(s -> s.length).max().orElseThrow();
        float[] mask = new float[sequences.size() * t];
        for (int b = 0; b < sequences.size(); b++) {
            for (int i = 0; i < sequences.get(b).length; i++) {
                mask[b * t + i] = 1;
            }
        }
        return m.create(mask, new ai.djl.ndarray.types.Shape(sequences.size(), t, 1));
    }

    private static Row row(String name, NDArray ref, NDArray low, NDArray valid) {
        NDArray r = ref.toType(DataType.FLOAT32, false).mul(valid);
        NDArray l = low.toType(DataType.FLOAT32, false).mul(valid);
        double maxRef = r.abs().max().getFloat();
        double maxLow = l.abs().max().getFloat();
        double diff = r.sub(l).abs().max().getFloat();
        return new Row(name, maxRef == 0 ? diff : diff / maxRef, maxRef, maxLow);
    }

    public List<Row> rows() {
        return rows;
    }

    public double argmaxAgreement() {
        return argmaxAgreement;
    }

    public double worstHiddenError() {
        return rows.stream().filter(r -> r.name.startsWith("hidden")).mapToDouble(Row::relError).max().orElse(0);
    }

    public Row logits() {
        return rows.get(rows.size() - 1);
    }

    public String format() {
        StringBuilder sb = new StringBuilder(String.format("%-20s %12s %14s %14s%n", "tensor", "rel. error",
                "max|fp32|", "max|low|"));
        for (Row r : rows) {
            sb.append(String.format("%-20s %12.3e %14.4g %14.4g%n", r.name, r.relError, r.maxAbsRef, r.maxAbsLow));
        }
        sb.append(String.format("argmax agreement: %.4f%n", argmaxAgreement));
        return sb.toString();
    }
}
