package dev.eaglespark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run resumed over a metrics.csv written before the simulated rounds existed (no
 * {@code val_rounds}, {@code val_rounds_tau}, {@code val_accept_K}): the old columns keep their
 * order and values, the new ones follow, empty in the old rows and filled in the new run's
 * validated rows; the plot draws both kinds.
 */
class TrainingCurvesTest {
    @TempDir
    Path dir;

    @Test
    void aResumeOverAnOlderFileAddsTheNewColumns() throws Exception {
        String oldHeader = "step,loss,grad_norm,lr,loss_scale,tokens,seconds,loss_0,acc_0,loss_1,acc_1,val_loss,val_tau,"
                + "val_loss_0,val_acc_0,val_loss_1,val_acc_1";
        Files.writeString(dir.resolve(TrainingCurves.CSV), oldHeader + "\n"
                + "1,9.0,1.0,0.001,1.0,100,0.1,9.0,0.1,9.5,0.05,,,,,,\n"
                + "2,8.0,1.0,0.001,1.0,110,0.1,8.0,0.2,8.5,0.1,6.5,1.4,3.0,0.3,3.5,0.2\n"
                + "3,7.0,1.0,0.001,1.0,120,0.1,7.0,0.3,7.5,0.2,,,,,,\n");
        TrainingCurves curves = new TrainingCurves(new org.apache.hadoop.fs.Path(dir.toUri()), new Configuration());
        curves.resumeAt(2);
        curves.add(new StepMetrics(3, 6.0, new float[] {6.0f, 6.5f}, new float[] {0.4f, 0.3f}, 1.0, 1e-3, 1.0, 130,
                0.1));
        curves.addValidation(new ValidationMetrics(3, 5.5, new double[] {2.5, 3.0}, new double[] {0.5, 0.4}, 8, 800,
                40, 1.75, new double[] {0.5, 0.5}, 1.0));
        curves.write();
        curves.writePlot();

        List<String> lines = Files.readAllLines(dir.resolve(TrainingCurves.CSV));
        assertEquals(oldHeader + ",val_rounds,val_rounds_tau,val_accept_0,val_accept_1", lines.get(0));
        assertEquals(List.of("1,9.0,1.0,0.001,1.0,100,0.1,9.0,0.1,9.5,0.05,,,,,,,,,,",
                "2,8.0,1.0,0.001,1.0,110,0.1,8.0,0.2,8.5,0.1,6.5,1.4,3.0,0.3,3.5,0.2,,,,",
                "3,6.0,1.0,0.001,1.0,130,0.1,6.0,0.4,6.5,0.3,5.5,1.7,2.5,0.5,3.0,0.4,"
                        + "40,1.75,0.5,0.5"), lines.subList(1, lines.size()), "the run's rows up to step 2, then step 3");
        String page = Files.readString(dir.resolve("training-curves.html"));
        assertTrue(page.contains("val_accept_1") && page.contains("val_rounds_tau") && page.contains("val_acc_1"), page);
    }
}
