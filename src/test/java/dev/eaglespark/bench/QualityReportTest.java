package dev.eaglespark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quality benchmark's report from a run's files: curve points, tables and the PNG. */
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
                 "tokens_per_second": 500.0}, "skipped_prompts": 0}
                """.formatted(positions.length, tau, pos));
    }

    private void metrics(String run, String text) throws Exception {
        Files.createDirectories(out.resolve("runs").resolve(run));
        Files.writeString(out.resolve("runs").resolve(run).resolve("metrics.csv"), text);
    }

    @Test
    void tablesCurveAndPlotFromARunsFiles() throws Exception {
        metrics("main", """
                step,loss,grad_norm,lr,loss_scale,tokens,seconds,loss_0,acc_0,val_tau,val_acc_0,val_acc_1
                1,9.0,1.0,1e-3,1,100,0.1,9.0,0.1,,,
                2,8.0,1.0,1e-3,1,110,0.1,8.0,0.2,1.9,0.5,0.4
                3,7.0,1.0,1e-3,1,120,0.1,7.0,0.3,,,
                4,6.0,1.0,1e-3,1,130,0.1,6.0,0.4,2.3,0.7,0.6
                """);
        metrics("lr-x3", "step,loss,grad_norm,lr,loss_scale,tokens,seconds\n1,9,1,3e-3,1,100,0.1\n2,8,1,3e-3,1,100,0.1\n");
        eval("main@step-00000002", 1.75, 0.5, 0.4);
        eval("main@step-00000004", 2.25, 0.7, 0.6);
        eval("lr-x3@step-00000002", 2.0, 0.6, 0.5);
        Files.writeString(out.resolve("timings.tsv"), "stage\twall_s\tuser_s\tsys_s\ntrain-main\t12.5\t30.1\t1.2\n");

        Map<String, List<QualityReport.Point>> runs = QualityReport.points(out);
        assertEquals(List.of("main", "lr-x3"), List.copyOf(runs.keySet()), "main first");
        assertEquals(210, runs.get("main").get(0).tokens(), "tokens of updates 1-2");
        assertEquals(460, runs.get("main").get(1).tokens(), "tokens of updates 1-4");
        assertEquals(Map.of("val_tau", "2.3", "val_acc_0", "0.7", "val_acc_1", "0.6"),
                runs.get("main").get(1).validation());

        QualityReport.main(new String[] {out.toString(), "scale=test"});
        String md = Files.readString(out.resolve("quality.md"));
        assertTrue(md.contains("| 4 | 460 | 2.250 | 0.700 0.600 | 2.3 | 0.7 | 0.6 |"), md);
        assertTrue(md.contains("| lr-x3 | 2 | 2.000 | -0.250 | 0.600 0.500 |"), md);
        assertTrue(md.contains("| train-main | 12.5 | 30.1 | 1.2 |"), md);
        assertEquals("run,step,training_tokens,tau,acceptance_by_position\nmain,2,210,1.7500,0.500;0.400\n"
                + "main,4,460,2.2500,0.700;0.600\nlr-x3,2,200,2.0000,0.600;0.500\n",
                Files.readString(out.resolve("learning-curve.csv")));
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
