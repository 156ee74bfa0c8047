package dev.eaglespark.draft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.vocab.DraftVocab;
import java.lang.reflect.Field;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Soft labels run every micro-batch: nothing they compute may stay behind in their own manager. */
class SoftLabelsTest {
    @Test
    void labelsLeaveNothingInTheFrozenManager() throws Exception {
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             SoftLabels soft = new SoftLabels(m.ones(new Shape(8)), m.randomNormal(new Shape(50, 8)), 1e-5,
                     DraftVocab.fromCounts(new long[50], 10))) {
            int before = resources(soft.manager());
            for (int i = 0; i < 3; i++) {
                try (NDManager step = m.newSubManager()) {
                    SoftLabels.Labels l = soft.labels(step.randomNormal(new Shape(2, 5, 8)), step.ones(new Shape(2, 5)));
                    assertEquals(new Shape(2, 5, 10), l.targetP().getShape());
                }
            }
            assertEquals(before, resources(soft.manager()));
        }
    }

    private static int resources(NDManager m) throws ReflectiveOperationException {
        Field f = BaseNDManager.class.getDeclaredField("resources");
        f.setAccessible(true);
        return ((Map<?, ?>) f.get(m)).size();
    }
}
