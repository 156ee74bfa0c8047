package dev.eaglespark.train;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The training curves next to the checkpoints: {@code metrics.csv} (a row per update, rewritten
 * whole at each checkpoint because S3 has no append; a resumed run keeps the rows up to its
 * checkpoint) and, at the end, {@code training-curves.html}, a self-contained page plotting
 * loss and per-step accuracy.
 */
public final class TrainingCurves {
    static final String CSV = "metrics.csv";
    static final String PLOT = "training-curves.html";
    private final Path dir;
    private final Configuration conf;
    private String header;
    private final List<String> rows = new ArrayList<>();

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
            header = r.readLine();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!line.isBlank() && Long.parseLong(line.substring(0, line.indexOf(','))) <= step) {
                    rows.add(line);
                }
            }
        }
    }

    public void add(StepMetrics m) {
        int k = m.stepLoss().length;
        if (header == null) {
            StringBuilder h = new StringBuilder("step,loss,grad_norm,lr,loss_scale,tokens,seconds");
            for (int i = 0; i < k; i++) {
                h.append(",loss_").append(i).append(",acc_").append(i);
            }
            header = h.toString();
        }
        StringBuilder sb = new StringBuilder();
        sb.append(m.step()).append(',').append(m.loss()).append(',').append(m.gradNorm()).append(',').append(m.lr())
                .append(',').append(m.lossScale()).append(',').append(m.tokens()).append(',').append(m.seconds());
        for (int i = 0; i < k; i++) {
            sb.append(',').append(m.stepLoss()[i]).append(',').append(m.stepAcc()[i]);
        }
        rows.add(sb.toString());
    }

    public void write() throws IOException {
        StringBuilder sb = new StringBuilder(header == null ? "" : header + "\n");
        rows.forEach(r -> sb.append(r).append('\n'));
        put(new Path(dir, CSV), sb.toString());
    }

    /**
     * An HTML page with two SVG charts: loss, and accuracy of each TTT step (the CSV is current:
     * the last update always writes a checkpoint and the CSV with it).
     */
    public void writePlot() throws IOException {
        if (rows.isEmpty()) {
            return;
        }
        String[] cols = header.split(",");
        double[][] table = new double[rows.size()][];
        for (int i = 0; i < rows.size(); i++) {
            table[i] = java.util.Arrays.stream(rows.get(i).split(",")).mapToDouble(Double::parseDouble).toArray();
        }
        List<Series> loss = new ArrayList<>(List.of(new Series("loss (weighted)", column(table, 1))));
        List<Series> acc = new ArrayList<>();
        for (int c = 0; c < cols.length; c++) {
            if (cols[c].matches("(loss|acc)_\\d+")) {
                (cols[c].startsWith("loss_") ? loss : acc).add(new Series(cols[c], column(table, c)));
            }
        }
        double[] steps = column(table, 0);
        String page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>eaglespark training curves</title>"
                + "<style>body{font-family:sans-serif;margin:2em}svg{border:1px solid #ccc;margin:1em 0}"
                + "</style></head><body><h1>Training curves</h1><p>" + rows.size() + " updates, up to step "
                + (long) steps[steps.length - 1] + ". Data: " + CSV + ".</p>"
                + chart("Loss", steps, loss) + chart("Accuracy per TTT step", steps, acc) + "</body></html>\n";
        put(new Path(dir, PLOT), page);
    }

    private record Series(String name, double[] values) {}

    private static double[] column(double[][] table, int c) {
        double[] out = new double[table.length];
        for (int i = 0; i < table.length; i++) {
            out[i] = table[i][c];
        }
        return out;
    }

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
