package dev.eaglespark.draft;

import ai.djl.Device;
import dev.eaglespark.gpu.GpuCheck;
import java.nio.file.Path;

/**
 * Speculative decoding's draft steps on a GPU against the training script on the GPU: teacher-forced
 * over the first row of the reference dumps (standard and shared head, 4 query heads on 2 KV
 * heads), the inference scripts' logits of step 0 and of every chain step equal the training
 * script's (fp32: its materialised-scores attention) within 1e-5 of the step's largest logit, as
 * {@code DraftInferenceMatchesTrainingTest} checks on the CPU. Usage: GpuDraftInferenceCheck FIXTURE_DIR
 */
public final class GpuDraftInferenceCheck {
    private static final double LIMIT = 1e-5;

    private GpuDraftInferenceCheck() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Device device = args.length > 1 && args[1].equals("cpu") ? Device.cpu() : Device.gpu();
        for (String name : new String[] {"eagle3_standard_forward_kl", "eagle3_shared_head_forward_kl"}) {
            TeacherForcing check = TeacherForcing.onFixture(dir, name, device);
            GpuCheck.report(check.worst() <= LIMIT, String.format("draft inference vs training on %s (%s): largest "
                    + "logit difference %.2e of the step's largest, at %s", name, device, check.worst(),
                    check.worstAt()));
        }
        GpuCheck.exit();
    }
}
