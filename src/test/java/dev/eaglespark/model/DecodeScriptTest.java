package dev.eaglespark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole decode step as one call computes what the per-layer path and the full forward
 * compute (fp32 on the CPU, within 1e-4 of the logits' largest magnitude): rows of different
 * lengths in shuffled slots, each at its own position, extended after what their slots hold by
 * several tokens in one call ({@link DecodeScriptComparison}); and the
 * slot cache keeps its contents when it grows.
 */
class DecodeScriptTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen2", "tiny-qwen3"}) // plain, qkv bias, per-head norms
    void oneCallComputesThePerLayerPathsLogits(String name) {
        try (TargetModel model = TargetModel.load(Fixtures.path(name), Device.cpu())) {
            DecodeScriptComparison.Errors e = DecodeScriptComparison.run(model, model, 6);
            assertTrue(e.oneCall() < 1e-4 && e.perLayer() < 1e-4 && e.between() < 1e-4, name + ": " + e);
        }
    }

    @Test
    void aShapeIsWarmedUpOnceAndOtherThreadsWaitForIt() throws Exception {
        try (TargetModel model = TargetModel.load(Fixtures.path("tiny-llama3"), Device.cpu())) {
            DecodeScript script = model.decodeScript();
            java.util.concurrent.atomic.AtomicInteger runs = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            Thread first = new Thread(() -> script.warmUpOnce("shape", () -> {
                runs.incrementAndGet();
                started.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            first.start();
            started.await();
            java.util.concurrent.atomic.AtomicBoolean secondDone = new java.util.concurrent.atomic.AtomicBoolean();
            Thread second = new Thread(() -> {
                script.warmUpOnce("shape", runs::incrementAndGet);
                secondDone.set(true);
            });
            second.start();
            second.join(300);
            assertTrue(!secondDone.get(), "a second thread waits while the shape warms up");
            release.countDown();
            first.join();
            second.join();
            assertTrue(secondDone.get());
            assertEquals(1, runs.get(), "the warm-up ran once");
            script.warmUpOnce("another shape", runs::incrementAndGet);
            assertEquals(2, runs.get());
        }
    }

    @Test
    void slotsKeepTheirPositionsWhenTheCacheGrows() {
        TargetConfig cfg = TargetConfig.load(Fixtures.path("tiny-llama3/config.json"));
        try (SlotCache cache = new SlotCache(Device.cpu(), cfg, DataType.FLOAT32, 3, 600);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            cache.ensure(10);
            assertEquals(SlotCache.GROWTH, cache.capacity());
            NDArray written = m.randomNormal(new Shape(3, cfg.numKvHeads(), 10, cfg.headDim()));
            cache.keys(0).set(new ai.djl.ndarray.index.NDIndex(":, :, :10"), written);
            cache.ensure(300); // rounded up to 512, more than 1.5 times 256
            assertEquals(512, cache.capacity());
            assertArrayEquals(written.toFloatArray(), cache.keys(0).get(":, :, :10").toFloatArray());
            assertEquals(0f, cache.keys(0).get(":, :, 10:").abs().sum().getFloat(), "the rest still zeros");
            cache.ensure(600);
            assertEquals(600, cache.capacity(), "never past the limit");
        }
    }
}
