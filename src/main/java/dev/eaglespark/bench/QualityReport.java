package dev.eaglespark.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The tables and the plot of the quality benchmark (jobs/gpu/quality.sh), from what its run left
 * in its output directory: evaluations {@code eval/RUN@step-NNNNNNNN.json} and
 * {@code eval/speed-main.json}, training curves {@code runs/RUN/metrics.csv}, the features'
 * manifests, the vocabularies' coverage and the stage timings. Writes {@code quality.md},
 * {@code learning-curve.csv} and {@code learning-curve.png} (tau against training tokens).
 *
 * <p>Usage: {@code QualityReport OUT_DIR "SETTINGS"}.
 */
public final class QualityReport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern EVAL = Pattern.compile("(.+)@step-(\\d+)\\.json");

    /** One evaluated checkpoint: its run, step, the training tokens up to it, and the evaluation. */
    record Point(String run, long step, long tokens, JsonNode eval, Map<String, String> validation) {}

    private QualityReport() {}

    public static void main(String[] args) throws IOException {
        Path out = Paths.get(args[0]);
        String settings = args.length > 1 ? args[1] : "";
        Map<String, List<Point>> runs = points(out);
        StringBuilder md = new StringBuilder("# Quality benchmark results\n\nSettings: `" + settings + "`\n\n");
        data(out, md);
        curve(runs, md);
        ablations(runs, md);
        speed(out, md);
        timings(out, md);
        Files.writeString(out.resolve("quality.md"), md);
        writeCsv(runs, out.resolve("learning-curve.csv"));
        plot(runs, out.resolve("learning-curve.png"));
        System.out.print(md);
    }

    /** Every evaluated checkpoint by run (main first), in step order. */
    static Map<String, List<Point>> points(Path out) throws IOException {
        Map<String, List<Point>> runs = new TreeMap<>((a, b) -> a.equals("main") ? (b.equals("main") ? 0 : -1)
                : b.equals("main") ? 1 : a.compareTo(b));
        Path evals = out.resolve("eval");
        if (!Files.isDirectory(evals)) {
            return runs;
        }
        try (Stream<Path> files = Files.list(evals)) {
            for (Path f : files.sorted().toList()) {
                Matcher m = EVAL.matcher(f.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                String run = m.group(1);
                long step = Long.parseLong(m.group(2));
                Metrics metrics = Metrics.read(out.resolve("runs").resolve(run).resolve("metrics.csv"));
                runs.computeIfAbsent(run, r -> new ArrayList<>()).add(new Point(run, step, metrics.tokensUpTo(step),
                        JSON.readTree(f.toFile()), metrics.validationAt(step)));
            }
        }
        runs.values().forEach(l -> l.sort(java.util.Comparator.comparingLong(Point::step)));
        return runs;
    }

    private static void data(Path out, StringBuilder md) throws IOException {
        md.append("## Data\n\n| split | rows | tokens | answer (masked) tokens | rejected |\n| --- | --- | --- | --- | --- |\n");
        for (String split : List.of("train", "val")) {
            Path f = out.resolve("features-" + split + ".json");
            if (Files.isRegularFile(f)) {
                JsonNode c = JSON.readTree(f.toFile()).path("counts");
                md.append(String.format("| %s | %,d | %,d | %,d | %,d |%n", split, c.path("rows").asLong(),
                        c.path("tokens").asLong(), c.path("masked_tokens").asLong(), c.path("rejected").asLong()));
            }
        }
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("vocab-\\d+\\.json")).sorted().toList()) {
                JsonNode v = JSON.readTree(f.toFile());
                md.append(String.format("%nDraft vocabulary %,d of %,d target tokens: coverage %.4f of the masked"
                                + " training tokens (%,d distinct).%n", v.path("draft_vocab_size").asInt(),
                        v.path("target_vocab_size").asInt(), v.path("coverage").asDouble(),
                        v.path("distinct_tokens").asLong()));
            }
        }
        md.append('\n');
    }

    private static void curve(Map<String, List<Point>> runs, StringBuilder md) {
        List<Point> main = runs.getOrDefault("main", List.of());
        if (main.isEmpty()) {
            return;
        }
        md.append("## Learning curve (main run), held-out evaluation prompts, chain k = ")
                .append(main.get(0).eval().path("trained").path("draft_length").asInt()).append(", greedy\n\n");
        JsonNode untrained = main.get(0).eval().path("untrained");
        List<String> valCols = new ArrayList<>(main.get(main.size() - 1).validation().keySet());
        md.append("| step | training tokens | tau | acceptance by position |");
        valCols.forEach(c -> md.append(' ').append(c).append(" |"));
        md.append("\n| --- | --- | --- | --- |").append(" --- |".repeat(valCols.size())).append('\n');
        if (!untrained.isMissingNode()) {
            md.append(String.format("| 0 (untrained) | 0 | %.3f | %s |%s%n", untrained.path("tau").asDouble(),
                    positions(untrained), " |".repeat(valCols.size())));
        }
        for (Point p : main) {
            JsonNode t = p.eval().path("trained");
            md.append(String.format("| %d | %,d | %.3f | %s |", p.step(), p.tokens(), t.path("tau").asDouble(),
                    positions(t)));
            valCols.forEach(c -> md.append(' ').append(p.validation().getOrDefault(c, "")).append(" |"));
            md.append('\n');
        }
        md.append('\n');
    }

    private static void ablations(Map<String, List<Point>> runs, StringBuilder md) {
        if (runs.size() < 2 || !runs.containsKey("main")) {
            return;
        }
        double mainTau = last(runs.get("main")).eval().path("trained").path("tau").asDouble();
        md.append("## Ablations (last checkpoint of each run, same data, seed and schedule)\n\n")
                .append("| run | step | tau | tau - main | acceptance by position |\n| --- | --- | --- | --- | --- |\n");
        runs.forEach((run, pts) -> {
            Point p = last(pts);
            double tau = p.eval().path("trained").path("tau").asDouble();
            md.append(String.format("| %s | %d | %.3f | %+.3f | %s |%n", run, p.step(), tau, tau - mainTau,
                    positions(p.eval().path("trained"))));
        });
        md.append('\n');
    }

    private static void speed(Path out, StringBuilder md) throws IOException {
        Path f = out.resolve("eval").resolve("speed-main.json");
        if (!Files.isRegularFile(f)) {
            return;
        }
        JsonNode r = JSON.readTree(f.toFile());
        JsonNode t = r.path("trained");
        JsonNode plain = r.path("plain");
        md.append("## Speed: the main run's exported draft, speculative against plain decoding\n\n")
                .append("| prompts | tau | acceptance by position | speculative tokens/s | plain tokens/s | speed-up |"
                        + " prompts whose outputs differ |\n| --- | --- | --- | --- | --- | --- | --- |\n")
                .append(String.format("| %d | %.3f | %s | %.1f | %.1f | %.3f | %d |%n%n", t.path("prompts").asInt(),
                        t.path("tau").asDouble(), positions(t), t.path("tokens_per_second").asDouble(),
                        plain.path("tokens_per_second").asDouble(), r.path("speedup").asDouble(),
                        plain.path("mismatched_prompts").asInt()));
    }

    private static void timings(Path out, StringBuilder md) throws IOException {
        Path f = out.resolve("timings.tsv");
        if (!Files.isRegularFile(f)) {
            return;
        }
        md.append("## Stage times (seconds of each stage's JVM; the train runs overlap, and so do the"
                        + " evaluations)\n\n| stage | wall | user | system |\n| --- | --- | --- | --- |\n");
        for (String line : Files.readAllLines(f).stream().skip(1).toList()) {
            md.append("| ").append(String.join(" | ", line.split("\t"))).append(" |\n");
        }
        md.append('\n');
    }

    private static void writeCsv(Map<String, List<Point>> runs, Path csv) throws IOException {
        StringBuilder sb = new StringBuilder("run,step,training_tokens,tau,acceptance_by_position\n");
        runs.values().forEach(pts -> pts.forEach(p -> sb.append(String.format("%s,%d,%d,%.4f,%s%n", p.run(), p.step(),
                p.tokens(), p.eval().path("trained").path("tau").asDouble(),
                positions(p.eval().path("trained")).replace(' ', ';')))));
        Files.writeString(csv, sb);
    }

    private static void plot(Map<String, List<Point>> runs, Path png) throws IOException {
        List<Point> main = runs.get("main");
        if (main == null || main.isEmpty()) {
            return;
        }
        LineChart chart = new LineChart("Draft acceptance length on held-out prompts (stories15M, k = "
                + main.get(0).eval().path("trained").path("draft_length").asInt() + ")",
                "training tokens (millions)", "tau (tokens per target forward)");
        double[] x = new double[main.size()];
        double[] y = new double[main.size()];
        for (int i = 0; i < main.size(); i++) {
            x[i] = main.get(i).tokens() / 1e6;
            y[i] = main.get(i).eval().path("trained").path("tau").asDouble();
        }
        chart.add(new LineChart.Series("main run", x, y, true, null));
        runs.forEach((run, pts) -> {
            if (!run.equals("main")) {
                Point p = last(pts);
                chart.add(new LineChart.Series(run, new double[] {p.tokens() / 1e6},
                        new double[] {p.eval().path("trained").path("tau").asDouble()}, false, List.of(run)));
            }
        });
        chart.write(png);
    }

    private static Point last(List<Point> pts) {
        return pts.get(pts.size() - 1);
    }

    private static String positions(JsonNode report) {
        StringBuilder sb = new StringBuilder();
        report.path("acceptance_per_position").forEach(v -> sb.append(sb.length() == 0 ? "" : " ")
                .append(String.format("%.3f", v.asDouble())));
        return sb.toString();
    }

    /** metrics.csv of a run: tokens per update and, where the trainer logs them, validation columns. */
    record Metrics(List<String> header, List<String[]> rows) {
        static Metrics read(Path csv) throws IOException {
            if (!Files.isRegularFile(csv)) {
                return new Metrics(List.of(), List.of());
            }
            List<String> lines = Files.readAllLines(csv);
            List<String[]> rows = new ArrayList<>();
            lines.stream().skip(1).filter(l -> !l.isBlank()).forEach(l -> rows.add(l.split(",", -1)));
            return new Metrics(lines.isEmpty() ? List.of() : List.of(lines.get(0).split(",")), rows);
        }

        long tokensUpTo(long step) {
            int tokens = header.indexOf("tokens");
            long sum = 0;
            for (String[] r : rows) {
                if (tokens >= 0 && Long.parseLong(r[0]) <= step) {
                    sum += Long.parseLong(r[tokens]);
                }
            }
            return sum;
        }

        /** The validation columns (val_acc_*, and any column about tau) of the last row at or before step. */
        Map<String, String> validationAt(long step) {
            Map<String, String> out = new java.util.LinkedHashMap<>();
            for (String[] r : rows) {
                if (Long.parseLong(r[0]) > step) {
                    break;
                }
                for (int c = 0; c < header.size() && c < r.length; c++) {
                    String name = header.get(c);
                    if ((name.matches("val_acc_\\d+") || name.contains("tau")) && !r[c].isBlank()) {
                        out.put(name, r[c]);
                    }
                }
            }
            return out;
        }
    }
}
