package dev.eaglespark.spark;

import ai.djl.Device;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The device a task runs on: the GPU Spark assigned it ({@code spark.task.resource.gpu.amount}),
 * else the CPU. Local mode assigns none, so it runs on the CPU and never waits for a GPU.
 */
public final class TaskDevice {
    private TaskDevice() {}

    public static Device current() {
        TaskContext tc = TaskContext.get();
        if (tc == null) {
            return Device.cpu();
        }
        scala.Option<ResourceInformation> gpu = tc.resources().get("gpu");
        if (gpu.isEmpty() || gpu.get().addresses().length == 0) {
            return Device.cpu();
        }
        return Device.gpu(Integer.parseInt(gpu.get().addresses()[0].trim()));
    }
}
