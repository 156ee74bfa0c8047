package dev.eaglespark.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quality benchmark's report from a run's files, in the layouts train (metrics.csv, best) and
 * evaluate (--report) write them: curve points with their validation, the agreement, ablation and
 * speed tables, the CSV and the PNG. The main run has the simulated rounds' columns; the
 * mask-reference run is from before them, and its agreement falls back to val_acc_K, marked.
 */
class QualityReportTest {
    @TempDir
    Path out;

    private void eval(String name, double tau, double... positions) throws Exception {
        StringBuilder pos = new StringBuilder();
        for (double p : positions) {
            pos.append(pos.length() == 0 ? "" : ", ").append(p);
        }
        Files.createDirectories(out.resolve("eval"));
        Files.writeString(out.resolve("eval").resolve(name + ".json"), """
                {"trained": {"prompts": 200, "draft_length": %d, "tau": %s, "acceptance_per_position": [%s],
                 "generated_tokens": 1000, "target_forwards": 400, "target_forwards_saved": 600, "seconds": 2.0,
                 "tokens_per_second": 500.0}, "skipped_prompts": 0,
                 "plain": {"generated_tokens": 1000, "seconds": 4.0, "tokens_per_second": 250.0, "mismatched_prompts": 1},
                 "speedup": 2.0}
                """.formatted(positions.length, tau, pos));
    }

    private void run(String run, String metrics, String best) throws Exception {
        Path dir = Files.createDirectories(out.resolve("runs").resolve(run));
        Files.writeString(dir.resolve("metrics.csv"), metrics);
        if (best != null) {
            Files.writeString(dir.resolve("best"), best + "\n");
        }
    }

    @Test
    void tablesCurveAndPlotFromARunsFiles() throws Exception {
        String header = "step,loss,grad_norm,lr,loss_scale,tokens,seconds,loss_0,acc_0,val_loss,val_tau,val_loss_0,"
                + "val_acc_0,val_loss_1,val_acc_1\n";
        String rounds = header.strip() + ",val_rounds,val_rounds_tau,val_accept_0,val_accept_1\n";
        run("main", rounds + """
                1,9.0,1.0,1e-3,1,100,0.1,9.0,0.1,,,,,,,,,,
                2,8.0,1.0,1e-3,1,110,0.1,8.0,0.2,6.5,1.9,3.0,0.52,3.5,0.4,50,1.72,0.49,0.41
                3,7.0,1.0,1e-3,1,120,0.1,7.0,0.3,,,,,,,,,,
                4,6.0,1.0,1e-3,1,130,0.1,6.0,0.4,5.5,2.3,2.5,0.68,3.0,0.7,40,2.21,0.66,0.63
                """, "step-00000004");
        run("mask-reference", header + """
                2,8.0,1.0,1e-3,1,100,0.1,8.0,0.2,6.9,1.8,3.2,0.5,3.7,0.3
                4,6.5,1.0,1e-3,1,100,0.1,6.5,0.3,6.0,2.1,2.9,0.6,3.1,0.5
                """, null);
        eval("main@step-00000002", 1.75, 0.5, 0.4);
        eval("main@step-00000004", 2.25, 0.7, 0.6);
        eval("mask-reference@step-00000004", 2.0, 0.6, 0.5);
        eval("speed-main", 2.25, 0.7, 0.6);
        Files.writeString(out.resolve("timings.tsv"), "stage\twall_s\tuser_s\tsys_s\ntrain-main\t12.5\t30.1\t1.2\n");
        Files.writeString(out.resolve("summaries.txt"), "prompts-train: prompts: 48 openings kept of 70 draws\n");

        Map<String, QualityReport.Metrics> metrics = QualityReport.metrics(out);
        Map<String, List<QualityReport.Point>> runs = QualityReport.points(out, metrics);
        assertEquals(List.of("main", "mask-reference"), List.copyOf(runs.keySet()), "main first");
        assertEquals(210, runs.get("main").get(0).tokens(), "tokens of updates 1-2");
        assertEquals(460, runs.get("main").get(1).tokens(), "tokens of updates 1-4");
        QualityReport.Validation v = runs.get("main").get(1).validation();
        assertEquals(2.3, v.tau(), 0);
        assertArrayEquals(new double[] {0.68, 0.7}, v.acc(), 0);
        assertEquals(2.21, v.roundsTau(), 0);
        assertArrayEquals(new double[] {0.66, 0.63}, v.accept(), 0);
        assertFalse(runs.get("mask-reference").get(0).validation().hasRounds(), "a run from before the rounds");
        assertFalse(metrics.get("main").validationAt(3).present(), "update 3 was not validated");
        assertEquals(4, QualityReport.best(out, "main"));

        QualityReport.main(new String[] {out.toString(), "scale=test"});
        String md = Files.readString(out.resolve("quality.md"));
        assertTrue(md.contains("| 2 | 210 | 6.5000 | 1.900 | 1.720 | 1.750 | 200 |\n"
                + "| 4 (best) | 460 | 5.5000 | 2.300 | 2.210 | 2.250 | 200 |"), md);
        assertTrue(md.contains("| main@2 | 200 | 1.750 / 1.720 / 1.900 | 0.500/0.490 0.400/0.410 | 0.010 | yes |"
                + " 0.520 0.400 |"), md);
        assertTrue(md.contains("| main@4 | 200 | 2.250 / 2.210 / 2.300 | 0.700/0.660 0.600/0.630 | 0.040 | yes |"
                + " 0.680 0.700 |"), md);
        assertTrue(md.contains("| mask-reference@4* | 200 | 2.000 / - / 2.100 | 0.600/0.600 0.500/0.500 | 0.000 |"
                + " yes | 0.600 0.500 |"), md);
        assertTrue(md.contains("| mask-reference | 4 | 200 | 2.000 | -0.250 | 2.100 | -0.200 | 0.600 0.500 |"), md);
        assertTrue(md.contains("(the best checkpoint by validation, step 4)"), md);
        assertTrue(md.contains("| 200 | 2.250 | 0.700 0.600 | 500.0 | 250.0 | 2.000 | 1 |"), md);
        assertTrue(md.contains("| train-main | 12.5 | 30.1 | 1.2 |"), md);
        assertTrue(md.contains("prompts-train: prompts: 48 openings kept of 70 draws"), md);
        assertEquals("""
                run,step,training_tokens,val_tau,eval_tau,eval_prompts,eval_acceptance_by_position,val_accuracy_by_step,\
                val_rounds_tau,val_acceptance_by_position
                main,2,210,1.9000,1.7500,200,0.500;0.400,0.520;0.400,1.7200,0.490;0.410
                main,4,460,2.3000,2.2500,200,0.700;0.600,0.680;0.700,2.2100,0.660;0.630
                mask-reference,2,100,1.8000,,,,0.500;0.300,,
                mask-reference,4,200,2.1000,2.0000,200,0.600;0.500,0.600;0.500,,
                """, Files.readString(out.resolve("learning-curve.csv")));
        BufferedImage png = ImageIO.read(out.resolve("learning-curve.png").toFile());
        assertEquals(960, png.getWidth());
        assertEquals(600, png.getHeight());
    }

    @Test
    void ticksAreRoundNumbersWithTheDecimalsTheirStepNeeds() {
        assertEquals(0.2, LineChart.niceStep(0.13), 1e-12);
        assertEquals(5, LineChart.niceStep(3.1), 1e-12);
        assertEquals(0.001, LineChart.niceStep(0.001), 1e-12);
        assertEquals("0.004", LineChart.format(0.004, 0.001));
        assertEquals("2.5", LineChart.format(2.5, 0.5));
        assertEquals("3", LineChart.format(3, 1));
    }
}
