package dev.eaglespark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;

/** --device of the Spark stages, outside a task (as on a driver, or in local mode without GPUs assigned). */
class DeviceChoiceTest {
    @Test
    void parsesTheThreeChoicesAndRejectsOthers() {
        assertEquals(DeviceChoice.AUTO, DeviceChoice.parse("auto"));
        assertEquals(DeviceChoice.GPU, DeviceChoice.parse("GPU"));
        assertEquals(DeviceChoice.CPU, DeviceChoice.parse("cpu"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.parse("tpu"));
        assertEquals("must be auto, gpu or cpu, got 'tpu'", e.getMessage());
    }

    @Test
    void cpuAndAutoWithoutAnAssignedGpuRunOnTheCpuAndGpuPicksByIndex() {
        assertEquals(Device.cpu(), DeviceChoice.CPU.forTask(3));
        assertEquals(Device.cpu(), DeviceChoice.AUTO.forTask(3), "nothing assigned: today's behaviour");
        int gpus = Engine.getInstance().getGpuCount();
        if (gpus == 0) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> DeviceChoice.GPU.forTask(3));
            assertTrue(e.getMessage().contains("sees no GPU"), e.getMessage());
        } else {
            assertEquals(Device.gpu(5 % gpus), DeviceChoice.GPU.forTask(5), "task index mod the GPUs");
        }
    }
}
