package dev.eaglespark.draft;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.gpu.GpuCheck;
import dev.eaglespark.tensors.SafeTensorsFile;
import java.nio.file.Path;

/**
 * One training step of each reference dump on a GPU, with the kernels GPU training uses (fp16:
 * the flash train-time-test attention), against the reference trainer's fp32 values. Limits as
 * on the CPU: fp32 like {@code TrainTimeTestFixtureTest} (losses within 1e-4, gradients within
 * 1e-3 of their largest magnitude), fp16 like {@code Fp16StepFixtureTest} (losses within 2e-3
 * relative, gradient cosine above 0.999). Usage: GpuTrainStepCheck FIXTURE_DIR
 */
public final class GpuTrainStepCheck {
    private GpuTrainStepCheck() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        for (String name : new String[] {"eagle3_standard_forward_kl", "eagle3_standard_reverse_kl",
                "eagle3_shared_head_forward_kl", "eagle3_shared_head_reverse_kl"}) {
            JsonNode meta = new ObjectMapper().readTree(dir.resolve(name + ".json").toFile());
            try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve(name + ".safetensors"))) {
                for (Precision p : new Precision[] {Precision.FP32, Precision.FP16}) {
                    ReferenceStep.Result r = ReferenceStep.run(f, meta, p, Device.gpu());
                    float[] ploss = f.readFloats("ploss");
                    double lossAbs = 0;
                    double lossRel = 0;
                    for (int k = 0; k < ploss.length; k++) {
                        lossAbs = Math.max(lossAbs, Math.abs(r.ploss()[k] - ploss[k]));
                        lossRel = Math.max(lossRel, Math.abs(r.ploss()[k] - ploss[k]) / Math.abs(ploss[k]));
                    }
                    double gradRel = 0;
                    double cosine = 1;
                    for (String g : r.grads().keySet()) {
                        float[] x = f.readFloats("grad." + g);
                        float[] y = r.grads().get(g);
                        double max = 0;
                        double err = 0;
                        double dot = 0;
                        double nx = 0;
                        double ny = 0;
                        for (int i = 0; i < x.length; i++) {
                            max = Math.max(max, Math.abs(x[i]));
                            err = Math.max(err, Math.abs(x[i] - y[i]));
                            dot += (double) x[i] * y[i];
                            nx += (double) x[i] * x[i];
                            ny += (double) y[i] * y[i];
                        }
                        gradRel = Math.max(gradRel, err / max);
                        cosine = Math.min(cosine, dot / Math.sqrt(nx * ny));
                    }
                    boolean ok = p == Precision.FP32 ? lossAbs <= 1e-4 && gradRel <= 1e-3
                            : lossRel <= 2e-3 && cosine > 0.999;
                    GpuCheck.report(ok, String.format("%s %s: losses within %.2e (%.2e relative), gradients within "
                            + "%.2e of their scale, worst cosine %.7f", name, p, lossAbs, lossRel, gradRel, cosine));
                }
            }
        }
        GpuCheck.exit();
    }
}
