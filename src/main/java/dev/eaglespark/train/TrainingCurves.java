package dev.eaglespark.train;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The training curves next to the checkpoints: {@code metrics.csv} (a row per update, rewritten
 * whole at each checkpoint because S3 has no append; a resumed run keeps the rows up to its
 * checkpoint) and, at the end, {@code training-curves.html}, a self-contained page plotting
 * loss, per-step accuracy and, with a validation split, the validation accuracies and expected
 * acceptance length, and the simulated speculative rounds' acceptance and tau. Validation columns
 * ({@code val_*}) are filled in the rows of the updates after which the split was scored and empty
 * elsewhere; files of runs from before the simulated rounds ({@code val_rounds_tau},
 * {@code val_accept_K}) lack those columns, and a resumed run adds them.
 */
public final class TrainingCurves {
    public static final String CSV = "metrics.csv";
    static final String PLOT = "training-curves.html";
    private final Path dir;
    private final Configuration conf;
    private final List<String> columns = new ArrayList<>();
    private final List<Map<String, String>> rows = new ArrayList<>();

    public TrainingCurves(Path dir, Configuration conf) {
        this.dir = dir;
        this.conf = conf;
    }

    /** Keeps the earlier run's rows up to {@code step}, the checkpoint resumed from. */
    public void resumeAt(long step) throws IOException {
        Path csv = new Path(dir, CSV);
        FileSystem fs = csv.getFileSystem(conf);
        if (!fs.exists(csv)) {
            return;
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(csv), StandardCharsets.UTF_8))) {
            String header = r.readLine();
            if (header == null) {
                return;
            }
            List<String> names = List.of(header.split(","));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String[] values = line.split(",", -1);
                if (!line.isBlank() && Long.parseLong(values[0]) <= step) {
                    Map<String, String> row = new LinkedHashMap<>();
                    for (int i = 0; i < names.size() && i < values.length; i++) {
                        row.put(names.get(i), values[i]);
                    }
                    rows.add(row);
                }
            }
            names.forEach(this::column);
        }
    }

    public void add(StepMetrics m) {
        Map<String, String> row = new LinkedHashMap<>();
        put(row, "step", m.step());
        put(row, "loss", m.loss());
        put(row, "grad_norm", m.gradNorm());
        put(row, "lr", m.lr());
        put(row, "loss_scale", m.lossScale());
        put(row, "tokens", m.tokens());
        put(row, "seconds", m.seconds());
        for (int i = 0; i < m.stepLoss().length; i++) {
            put(row, "loss_" + i, m.stepLoss()[i]);
            put(row, "acc_" + i, m.stepAcc()[i]);
        }
        rows.add(row);
    }

    /** The validation of the last update added (its step). */
    public void addValidation(ValidationMetrics v) {
        Map<String, String> row = rows.get(rows.size() - 1);
        if (Long.parseLong(row.get("step")) != v.step()) {
            throw new IllegalStateException("validation of step " + v.step() + " after the row of step " + row.get("step"));
        }
        put(row, "val_loss", v.loss());
        put(row, "val_tau", v.expectedAcceptanceLength());
        for (int i = 0; i < v.stepLoss().length; i++) {
            put(row, "val_loss_" + i, v.stepLoss()[i]);
            put(row, "val_acc_" + i, v.stepAcc()[i]);
        }
        if (v.hasRounds()) {
            put(row, "val_rounds", v.rounds());
            put(row, "val_rounds_tau", v.roundsTau());
            for (int i = 0; i < v.roundAcceptance().length; i++) {
                put(row, "val_accept_" + i, v.roundAcceptance()[i]);
            }
        }
    }

    private void put(Map<String, String> row, String name, Object value) {
        column(name);
        row.put(name, String.valueOf(value));
    }

    private void column(String name) {
        if (!columns.contains(name)) {
            columns.add(name);
        }
    }

    public void write() throws IOException {
        StringBuilder sb = new StringBuilder(columns.isEmpty() ? "" : String.join(",", columns) + "\n");
        for (Map<String, String> row : rows) {
            sb.append(String.join(",", columns.stream().map(c -> row.getOrDefault(c, "")).toList())).append('\n');
        }
        put(new Path(dir, CSV), sb.toString());
    }

    /**
     * An HTML page with SVG charts: loss, accuracy of each TTT step and, with validation, the
     * validation accuracies and expected acceptance length (the CSV is current: the last update
     * always writes a checkpoint and the CSV with it).
     */
    public void writePlot() throws IOException {
        if (rows.isEmpty()) {
            return;
        }
        double[] steps = values("step");
        List<Series> loss = new ArrayList<>(List.of(new Series("loss (weighted)", values("loss"))));
        List<Series> acc = new ArrayList<>();
        List<Series> val = new ArrayList<>();
        List<Series> accept = new ArrayList<>();
        List<Series> tau = new ArrayList<>(List.of(new Series("val_tau", values("val_tau"))));
        for (String c : columns) {
            if (c.matches("(loss|acc)_\\d+")) {
                (c.startsWith("loss_") ? loss : acc).add(new Series(c, values(c)));
            } else if (c.matches("val_acc_\\d+")) {
                val.add(new Series(c, values(c)));
            } else if (c.matches("val_accept_\\d+")) {
                accept.add(new Series(c, values(c)));
            } else if (c.equals("val_rounds_tau")) {
                tau.add(new Series(c, values(c)));
            }
        }
        String validation = val.isEmpty() ? "" : chart("Validation accuracy per TTT step (held-out, teacher-forced)",
                steps, val) + (accept.isEmpty() ? "" : chart("Validation: acceptance by draft position in simulated "
                + "speculative rounds", steps, accept)) + chart("Validation: acceptance length", steps, tau);
        String page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>eaglespark training curves</title>"
                + "<style>body{font-family:sans-serif;margin:2em}svg{border:1px solid #ccc;margin:1em 0}"
                + "</style></head><body><h1>Training curves</h1><p>" + rows.size() + " updates, up to step "
                + (long) steps[steps.length - 1] + ". Data: " + CSV + ".</p>"
                + chart("Loss", steps, loss) + chart("Accuracy per TTT step", steps, acc) + validation
                + "</body></html>\n";
        put(new Path(dir, PLOT), page);
    }

    /** A column's values, NaN where a row has none. */
    private double[] values(String name) {
        double[] out = new double[rows.size()];
        for (int i = 0; i < out.length; i++) {
            String v = rows.get(i).getOrDefault(name, "");
            out[i] = v.isEmpty() ? Double.NaN : Double.parseDouble(v);
        }
        return out;
    }

    private record Series(String name, double[] values) {}

    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

    private static String chart(String title, double[] x, List<Series> series) {
        int w = 800;
        int h = 320;
        int pad = 50;
        double x0 = x[0];
        double x1 = Math.max(x[x.length - 1], x0 + 1);
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (double v : s.values()) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "<h2>%s</h2><svg width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">", title, w + 160, h));
        sb.append(String.format(Locale.ROOT, "<text x=\"5\" y=\"%d\" font-size=\"11\">%.3g</text>"
                + "<text x=\"5\" y=\"%d\" font-size=\"11\">%.3g</text><text x=\"%d\" y=\"%d\" font-size=\"11\">step %d"
                + "</text><text x=\"%d\" y=\"%d\" font-size=\"11\">step %d</text>", pad, hi, h - pad, lo, pad,
                h - pad + 20, (long) x0, w - pad, h - pad + 20, (long) x1));
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            StringBuilder pts = new StringBuilder();
            for (int j = 0; j < x.length; j++) {
                if (Double.isFinite(s.values()[j])) {
                    double px = pad + (x[j] - x0) / (x1 - x0) * (w - 2 * pad);
                    double py = pad + (hi - s.values()[j]) / (hi - lo) * (h - 2 * pad);
                    pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
                }
            }
            String color = COLORS[i % COLORS.length];
            sb.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" points=\"").append(pts)
                    .append("\"/>");
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">%s</text>",
                    w - pad + 60, pad + 16 * i, color, s.name()));
        }
        return sb.append("</svg>").toString();
    }

    private void put(Path p, String text) throws IOException {
        try (OutputStream os = p.getFileSystem(conf).create(p, true)) {
            os.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
