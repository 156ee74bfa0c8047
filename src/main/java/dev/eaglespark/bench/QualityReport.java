package dev.eaglespark.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.features.FeatureManifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The tables and the plot of the quality benchmark (jobs/gpu/quality.sh), from what its run left
 * in its output directory: evaluations {@code eval/RUN@step-NNNNNNNN.json} and
 * {@code eval/speed-main.json}, training curves {@code runs/RUN/metrics.csv} with their
 * validation columns and {@code best} pointers, the features' manifests, the vocabularies'
 * coverage, the stage timings and summaries. Writes {@code quality.md}, {@code learning-curve.csv}
 * and {@code learning-curve.png} (tau against training tokens).
 *
 * <p>Each evaluated checkpoint is set beside the validation of the same update: evaluate's tau
 * and acceptance at each draft position (given the earlier ones) against the speculative rounds
 * validation simulates on the held-out validation conversations (val_rounds_tau, val_accept_K:
 * the same quantity, from the training forward's teacher-forced predictions), with the largest
 * difference over the positions, so "validation agrees with evaluation within {@value #AGREEMENT}
 * per position" can be read off the table; the teacher-forced val_tau and val_acc_K stay beside
 * them. Runs from before the simulated rounds are compared with val_acc_K, and say so.
 *
 * <p>Usage: {@code QualityReport OUT_DIR "SETTINGS"}.
 */
public final class QualityReport {
    /** The agreement the issue asks between validation accuracy and eval-time acceptance, per position. */
    static final double AGREEMENT = 0.05;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern EVAL = Pattern.compile("(.+)@step-(\\d+)\\.json");

    /** One evaluated checkpoint: its run, step, the training tokens up to it, evaluation and validation. */
    record Point(String run, long step, long tokens, JsonNode eval, Validation validation) {
        JsonNode trained() {
            return eval.path("trained");
        }

        double tau() {
            return trained().path("tau").asDouble();
        }

        int prompts() {
            return trained().path("prompts").asInt();
        }
    }

    /**
     * The validation of one update (empty when the update was not validated): teacher-forced
     * val_tau and val_acc_K, and the simulated rounds' val_rounds_tau and val_accept_K (NaN and
     * empty in runs from before them).
     */
    record Validation(double loss, double tau, double[] acc, double roundsTau, double[] accept) {
        static final Validation NONE = new Validation(Double.NaN, Double.NaN, new double[0], Double.NaN, new double[0]);

        boolean present() {
            return !Double.isNaN(tau);
        }

        boolean hasRounds() {
            return accept.length > 0;
        }

        /** What evaluate's acceptance by position is compared with: the simulated rounds' where there are any. */
        double[] comparable() {
            return hasRounds() ? accept : acc;
        }
    }

    private QualityReport() {}

    public static void main(String[] args) throws IOException {
        Path out = Paths.get(args[0]);
        String settings = args.length > 1 ? args[1] : "";
        Map<String, Metrics> metrics = metrics(out);
        Map<String, List<Point>> runs = points(out, metrics);
        StringBuilder md = new StringBuilder("# Quality benchmark results\n\nSettings: `" + settings + "`\n\n");
        data(out, md);
        curve(metrics.get("main"), runs.getOrDefault("main", List.of()), best(out, "main"), md);
        agreement(runs, md);
        ablations(runs, metrics, md);
        speed(out, md);
        timings(out, md);
        summaries(out, md);
        Files.writeString(out.resolve("quality.md"), md);
        writeCsv(metrics, runs, out.resolve("learning-curve.csv"));
        System.out.print(md);
        try {
            plot(metrics, runs, out.resolve("learning-curve.png"));
        } catch (UnsatisfiedLinkError | java.awt.AWTError e) {
            // a trimmed runtime without the desktop's native font libraries (the lent GPU machine's):
            // the tables stand; the plot is drawn by rerunning this class on OUT where fonts exist
            System.err.println("learning-curve.png not drawn (" + e + "): run QualityReport " + out
                    + " again on a machine with fonts");
        }
    }

    /** metrics.csv of every run under OUT/runs, main first. */
    static Map<String, Metrics> metrics(Path out) throws IOException {
        Map<String, Metrics> all = new TreeMap<>(MAIN_FIRST);
        Path runs = out.resolve("runs");
        if (Files.isDirectory(runs)) {
            try (Stream<Path> dirs = Files.list(runs)) {
                for (Path d : dirs.filter(Files::isDirectory).toList()) {
                    all.put(d.getFileName().toString(), Metrics.read(d.resolve(dev.eaglespark.train.TrainingCurves.CSV)));
                }
            }
        }
        return all;
    }

    private static final Comparator<String> MAIN_FIRST = (a, b) -> a.equals(b) ? 0 : a.equals("main") ? -1
            : b.equals("main") ? 1 : a.compareTo(b);

    /** Every evaluated checkpoint by run (main first), in step order. */
    static Map<String, List<Point>> points(Path out, Map<String, Metrics> metrics) throws IOException {
        Map<String, List<Point>> runs = new TreeMap<>(MAIN_FIRST);
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
                Metrics mt = metrics.getOrDefault(run, Metrics.EMPTY);
                runs.computeIfAbsent(run, r -> new ArrayList<>()).add(new Point(run, step, mt.tokensUpTo(step),
                        JSON.readTree(f.toFile()), mt.validationAt(step)));
            }
        }
        runs.values().forEach(l -> l.sort(Comparator.comparingLong(Point::step)));
        return runs;
    }

    /** The checkpoint a run's {@code best} pointer names (its step), or -1. */
    static long best(Path out, String run) throws IOException {
        Path f = out.resolve("runs").resolve(run).resolve("best");
        if (!Files.isRegularFile(f)) {
            return -1;
        }
        Matcher m = Pattern.compile("step-(\\d+)").matcher(Files.readString(f).strip());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void data(Path out, StringBuilder md) throws IOException {
        md.append("## Data\n\n| split | rows | tokens | answer (masked) tokens | rejected |\n| --- | --- | --- | --- | --- |\n");
        for (String split : List.of("train", "val")) {
            Path f = out.resolve("features-" + split + ".json");
            if (Files.isRegularFile(f)) {
                FeatureManifest.Counts c = FeatureManifest.read(f).counts();
                md.append(String.format("| %s | %,d | %,d | %,d | %,d |%n", split, c.rows(), c.tokens(),
                        c.maskedTokens(), c.rejected()));
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

    /** Every validated update of the main run, with evaluate's tau where that checkpoint was evaluated. */
    private static void curve(Metrics main, List<Point> evaluated, long best, StringBuilder md) {
        if (main == null || main.validatedSteps().isEmpty()) {
            return;
        }
        Map<Long, Point> byStep = new LinkedHashMap<>();
        evaluated.forEach(p -> byStep.put(p.step(), p));
        md.append("## Learning curve (main run)\n\nval: the training forward, teacher-forced, on the held-out"
                        + " validation conversations (val_tau from the accuracies per step; simulated: tokens per"
                        + " round of the speculative rounds simulated on its predictions). evaluate: speculative"
                        + " decoding (chain k = ")
                .append(evaluated.isEmpty() ? "?" : evaluated.get(0).trained().path("draft_length").asText())
                .append(", greedy) on held-out evaluation prompts.\n\n")
                .append("| step | training tokens | val_loss | val_tau | val simulated tau | evaluate tau | prompts |\n")
                .append("| --- | --- | --- | --- | --- | --- | --- |\n");
        for (long step : main.validatedSteps()) {
            Validation v = main.validationAt(step);
            Point p = byStep.get(step);
            md.append(String.format("| %d%s | %,d | %.4f | %.3f | %s | %s | %s |%n", step, step == best ? " (best)" : "",
                    main.tokensUpTo(step), v.loss(), v.tau(), v.hasRounds() ? String.format("%.3f", v.roundsTau()) : "",
                    p == null ? "" : String.format("%.3f", p.tau()), p == null ? "" : String.valueOf(p.prompts())));
        }
        md.append('\n');
    }

    /**
     * Evaluate's acceptance per position against the validation's simulated rounds' (val_acc_K for
     * runs without them), checkpoint by checkpoint, the teacher-forced accuracies beside.
     */
    private static void agreement(Map<String, List<Point>> runs, StringBuilder md) {
        List<Point> pts = runs.values().stream().flatMap(List::stream).filter(p -> p.validation().present()).toList();
        if (pts.isEmpty()) {
            return;
        }
        md.append("## Validation against evaluation, per draft position\n\nEach cell: evaluate's acceptance at the"
                + " position (given the earlier ones) / validation's at the same update, from greedy speculative rounds"
                + " simulated on the validation conversations with the training forward's teacher-forced predictions"
                + " (val_accept_K; a checkpoint marked * is of a run from before them and is compared with val_acc_K)."
                + " Agreement: the largest |difference| over the positions, against ").append(AGREEMENT)
                .append(". Beside them the teacher-forced accuracy of each step (val_acc_K), pooled over all"
                        + " positions, and the val_tau it implies.\n\n| checkpoint | prompts |"
                        + " tau: evaluate / simulated / val_tau | acceptance / simulated by position |"
                        + " max abs difference | within ").append(AGREEMENT).append(" | val_acc_K by step |\n"
                        + "| --- | --- | --- | --- | --- | --- | --- |\n");
        for (Point p : pts) {
            Validation v = p.validation();
            double[] acc = acceptance(p.trained());
            double[] val = v.comparable();
            StringBuilder cells = new StringBuilder();
            double worst = 0;
            for (int k = 0; k < Math.min(acc.length, val.length); k++) {
                cells.append(k == 0 ? "" : " ").append(String.format("%.3f/%.3f", acc[k], val[k]));
                worst = Math.max(worst, Math.abs(acc[k] - val[k]));
            }
            md.append(String.format("| %s@%d%s | %d | %.3f / %s / %.3f | %s | %.3f | %s | %s |%n", p.run(), p.step(),
                    v.hasRounds() ? "" : "*", p.prompts(), p.tau(),
                    v.hasRounds() ? String.format("%.3f", v.roundsTau()) : "-", v.tau(), cells, worst,
                    worst <= AGREEMENT ? "yes" : "no", join(v.acc()).replace(';', ' ')));
        }
        md.append('\n');
    }

    private static void ablations(Map<String, List<Point>> runs, Map<String, Metrics> metrics, StringBuilder md) {
        if (metrics.size() < 2 || !metrics.containsKey("main")) {
            return;
        }
        Point mainLast = runs.containsKey("main") ? last(runs.get("main")) : null;
        Validation mainVal = metrics.get("main").lastValidation();
        md.append("## Ablations (last checkpoint of each run; same data, seed, initial weights and schedule)\n\n")
                .append("| run | step | prompts | tau | tau - main | val_tau | val_tau - main | acceptance by position |\n")
                .append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        metrics.forEach((run, mt) -> {
            Point p = runs.containsKey(run) ? last(runs.get(run)) : null;
            Validation v = mt.lastValidation();
            boolean sameStep = p != null && mainLast != null && p.step() == mainLast.step();
            md.append(String.format("| %s | %s | %s | %s | %s | %s | %s | %s |%n", run,
                    p == null ? mt.lastStep() : p.step(), p == null ? "" : p.prompts(),
                    p == null ? "" : String.format("%.3f", p.tau()),
                    sameStep ? String.format("%+.3f", p.tau() - mainLast.tau()) : "",
                    v.present() ? String.format("%.3f", v.tau()) : "",
                    v.present() && mainVal.present() ? String.format("%+.3f", v.tau() - mainVal.tau()) : "",
                    p == null ? "" : positions(p.trained())));
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
        long best = best(out, "main");
        md.append("## Speed: the main run's export")
                .append(best >= 0 ? " (the best checkpoint by validation, step " + best + ")" : "")
                .append(", speculative against plain decoding\n\n")
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

    private static void summaries(Path out, StringBuilder md) throws IOException {
        Path f = out.resolve("summaries.txt");
        if (Files.isRegularFile(f)) {
            md.append("## The stages' own summaries\n\n```\n").append(Files.readString(f)).append("```\n");
        }
    }

    private static void writeCsv(Map<String, Metrics> metrics, Map<String, List<Point>> runs, Path csv)
            throws IOException {
        StringBuilder sb = new StringBuilder("run,step,training_tokens,val_tau,eval_tau,eval_prompts,"
                + "eval_acceptance_by_position,val_accuracy_by_step,val_rounds_tau,val_acceptance_by_position\n");
        metrics.forEach((run, mt) -> {
            Map<Long, Point> evaluated = new LinkedHashMap<>();
            runs.getOrDefault(run, List.of()).forEach(p -> evaluated.put(p.step(), p));
            java.util.TreeSet<Long> steps = new java.util.TreeSet<>(mt.validatedSteps());
            steps.addAll(evaluated.keySet());
            for (long step : steps) {
                Validation v = mt.validationAt(step);
                Point p = evaluated.get(step);
                sb.append(String.format("%s,%d,%d,%s,%s,%s,%s,%s,%s,%s%n", run, step, mt.tokensUpTo(step),
                        v.present() ? String.format("%.4f", v.tau()) : "",
                        p == null ? "" : String.format("%.4f", p.tau()), p == null ? "" : p.prompts(),
                        p == null ? "" : positions(p.trained()).replace(' ', ';'), join(v.acc()),
                        v.hasRounds() ? String.format("%.4f", v.roundsTau()) : "", join(v.accept())));
            }
        });
        Files.writeString(csv, sb);
    }

    private static void plot(Map<String, Metrics> metrics, Map<String, List<Point>> runs, Path png)
            throws IOException {
        List<Point> main = runs.getOrDefault("main", List.of());
        Metrics mainMetrics = metrics.get("main");
        if (main.isEmpty() && (mainMetrics == null || mainMetrics.validatedSteps().isEmpty())) {
            return;
        }
        LineChart chart = new LineChart("Draft acceptance length on held-out data (stories15M, k = "
                + (main.isEmpty() ? "?" : main.get(0).trained().path("draft_length").asText()) + ")",
                "training tokens (millions)", "tau (tokens per target forward)");
        metrics.forEach((run, mt) -> {
            List<Long> steps = mt.validatedSteps();
            if (!steps.isEmpty() && (run.equals("main") || run.equals("mask-reference"))) {
                double[] tokens = steps.stream().mapToDouble(s -> mt.tokensUpTo(s) / 1e6).toArray();
                chart.add(new LineChart.Series(run + ": val_tau", tokens,
                        steps.stream().mapToDouble(s -> mt.validationAt(s).tau()).toArray(), true, null));
                List<Long> simulated = steps.stream().filter(s -> mt.validationAt(s).hasRounds()).toList();
                if (run.equals("main") && !simulated.isEmpty()) {
                    chart.add(new LineChart.Series(run + ": val simulated tau", simulated.stream()
                            .mapToDouble(s -> mt.tokensUpTo(s) / 1e6).toArray(), simulated.stream()
                            .mapToDouble(s -> mt.validationAt(s).roundsTau()).toArray(), true, null));
                }
            }
        });
        if (!main.isEmpty()) {
            chart.add(new LineChart.Series("main: evaluate tau", main.stream().mapToDouble(p -> p.tokens() / 1e6)
                    .toArray(), main.stream().mapToDouble(Point::tau).toArray(), true, null));
        }
        runs.forEach((run, pts) -> {
            if (!run.equals("main")) {
                Point p = last(pts);
                chart.add(new LineChart.Series(run + ": evaluate", new double[] {p.tokens() / 1e6},
                        new double[] {p.tau()}, false, List.of(run)));
            }
        });
        chart.write(png);
    }

    private static Point last(List<Point> pts) {
        return pts.get(pts.size() - 1);
    }

    private static double[] acceptance(JsonNode report) {
        List<Double> v = new ArrayList<>();
        report.path("acceptance_per_position").forEach(x -> v.add(x.asDouble()));
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static String positions(JsonNode report) {
        return join(acceptance(report)).replace(';', ' ');
    }

    private static String join(double[] values) {
        StringBuilder sb = new StringBuilder();
        for (double v : values) {
            sb.append(sb.length() == 0 ? "" : ";").append(String.format("%.3f", v));
        }
        return sb.toString();
    }

    /** metrics.csv of a run: tokens per update and, on the validated updates, the validation columns. */
    record Metrics(List<String> header, List<String[]> rows) {
        static final Metrics EMPTY = new Metrics(List.of(), List.of());

        static Metrics read(Path csv) throws IOException {
            if (!Files.isRegularFile(csv)) {
                return EMPTY;
            }
            List<String> lines = Files.readAllLines(csv);
            List<String[]> rows = new ArrayList<>();
            lines.stream().skip(1).filter(l -> !l.isBlank()).forEach(l -> rows.add(l.split(",", -1)));
            return new Metrics(lines.isEmpty() ? List.of() : List.of(lines.get(0).split(",")), rows);
        }

        private String value(String[] row, String column) {
            int c = header.indexOf(column);
            return c < 0 || c >= row.length ? "" : row[c];
        }

        long lastStep() {
            return rows.isEmpty() ? 0 : Long.parseLong(rows.get(rows.size() - 1)[0]);
        }

        long tokensUpTo(long step) {
            long sum = 0;
            for (String[] r : rows) {
                if (Long.parseLong(r[0]) <= step && !value(r, "tokens").isEmpty()) {
                    sum += Long.parseLong(value(r, "tokens"));
                }
            }
            return sum;
        }

        List<Long> validatedSteps() {
            return rows.stream().filter(r -> !value(r, "val_tau").isBlank()).map(r -> Long.parseLong(r[0])).toList();
        }

        /** The validation of update {@code step}, or {@link Validation#NONE}. */
        Validation validationAt(long step) {
            for (String[] r : rows) {
                if (Long.parseLong(r[0]) == step && !value(r, "val_tau").isBlank()) {
                    String roundsTau = value(r, "val_rounds_tau");
                    return new Validation(Double.parseDouble(value(r, "val_loss")),
                            Double.parseDouble(value(r, "val_tau")), series(r, "val_acc_"),
                            roundsTau.isBlank() ? Double.NaN : Double.parseDouble(roundsTau),
                            roundsTau.isBlank() ? new double[0] : series(r, "val_accept_"));
                }
            }
            return Validation.NONE;
        }

        /** The values of columns {@code prefix}0, {@code prefix}1, ... of a row. */
        private double[] series(String[] row, String prefix) {
            List<Double> out = new ArrayList<>();
            for (int k = 0; header.contains(prefix + k); k++) {
                out.add(Double.parseDouble(value(row, prefix + k)));
            }
            return out.stream().mapToDouble(Double::doubleValue).toArray();
        }

        Validation lastValidation() {
            List<Long> steps = validatedSteps();
            return steps.isEmpty() ? Validation.NONE : validationAt(steps.get(steps.size() - 1));
        }
    }
}
