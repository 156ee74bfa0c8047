package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.HashMap;
import java.util.Map;

/**
 * One set of random weights at a config's shapes as two models on one device: the reference in
 * fp32 and a copy in a lower dtype whose every weight is the reference's, rounded. Checks at real
 * shapes (Llama-3.1-8B's head width and query groups) without a checkpoint.
 */
final class RandomPair implements AutoCloseable {
    final TargetModel reference;
    final TargetModel low;

    RandomPair(TargetConfig cfg, Device device, DataType dtype) {
        NDManager high = NDManager.newBaseManager(device);
        NDManager rounded = NDManager.newBaseManager(device);
        Map<String, NDArray> copies = new HashMap<>();
        RandomWeights random = new RandomWeights(high, DataType.FLOAT32, 0.02f, cfg.tieWordEmbeddings());
        // The layers stack and close the arrays they load, so the copies are made as each is loaded.
        reference = TargetModel.build(cfg, new WeightSource() {
            @Override
            public NDArray load(String name, long... shape) {
                NDArray w = random.load(name, shape);
                NDArray copy = w.toType(dtype, true);
                copy.attach(rounded);
                copies.put(name, copy);
                return w;
            }

            @Override
            public boolean has(String name) {
                return random.has(name);
            }
        }, high, DataType.FLOAT32, "random weights");
        low = TargetModel.build(cfg, new WeightSource() {
            @Override
            public NDArray load(String name, long... shape) {
                return copies.remove(name);
            }

            @Override
            public boolean has(String name) {
                return random.has(name);
            }
        }, rounded, dtype, "random weights, rounded");
    }

    @Override
    public void close() {
        low.close();
        reference.close();
    }
}
