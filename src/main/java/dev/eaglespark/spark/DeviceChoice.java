package dev.eaglespark.spark;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;

/**
 * A Spark stage's {@code --device}: where each of its tasks runs. Spark assigns GPUs to tasks
 * only on a cluster configured for them ({@code spark.task.resource.gpu.amount}); local mode
 * assigns none, so there {@link #GPU} picks one itself.
 */
public enum DeviceChoice {
    /** The GPU Spark assigned the task, else the CPU. */
    AUTO,
    /** The GPU Spark assigned the task, else (local mode) task index mod the GPUs visible; fails without one. */
    GPU,
    /** The CPU, whatever Spark assigned. */
    CPU;

    public static DeviceChoice parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("must be auto, gpu or cpu, got '" + s + "'");
        }
    }

    /** The device of task {@code index} (its partition, or its rank in a barrier stage). */
    public Device forTask(int index) {
        if (this == CPU) {
            return Device.cpu();
        }
        Device assigned = TaskDevice.current();
        if (assigned.isGpu() || this == AUTO) {
            return assigned;
        }
        int gpus = Engine.getInstance().getGpuCount();
        if (gpus == 0) {
            throw new IllegalStateException("--device gpu, but this executor sees no GPU");
        }
        return Device.gpu(index % gpus);
    }
}
