package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * fp16 compute with fp32 masters. Frozen weights (embed_tokens, a shared head) are copied to
 * fp16 once; trainable ones are copied at every update, as gradient leaves of their own: DJL
 * runs toType without autograd, so a cast of a master would cut the graph. After each
 * micro-batch the fp16 gradients are added to fp32 accumulators and zeroed, so accumulation
 * over micro-batches happens in fp32.
 */
final class HalfWeights implements ComputeWeights {
    private final DraftParams masters;
    private final DraftParams half;
    private final NDManager accumulators;
    private final Map<String, NDArray> sums = new LinkedHashMap<>();

    HalfWeights(DraftParams masters) {
        this.masters = masters;
        this.half = new DraftParams(masters.manager().getDevice(), DataType.FLOAT16);
        this.accumulators = half.manager().newSubManager();
        masters.all().forEach((name, w) -> {
            if (!masters.trainable().contains(name)) {
                half.put(name, w, false);
            }
        });
    }

    @Override
    public DraftParams params() {
        return half;
    }

    @Override
    public void beginUpdate() {
        try (GradMode off = GradMode.off()) {
            for (String name : masters.trainable()) {
                half.put(name, masters.get(name), true); // closes the previous update's copy and its .grad
            }
        }
    }

    @Override
    public void afterBackward() {
        try (GradMode off = GradMode.off()) {
            for (String name : masters.trainable()) {
                NDArray w = half.get(name);
                try (NDArray g = w.getGradient()) {
                    NDArray g32 = g.toType(DataType.FLOAT32, true);
                    g32.attach(accumulators);
                    NDArray sum = sums.get(name);
                    if (sum == null) {
                        sums.put(name, g32);
                    } else {
                        sum.addi(g32);
                        g32.close();
                    }
                }
                JniUtils.zeroGrad((PtNDArray) w);
            }
        }
    }

    @Override
    public Map<String, NDArray> gradients(float unscale) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (String name : masters.trainable()) {
            NDArray g = sums.remove(name);
            if (g == null) {
                throw new IllegalStateException("no backward since the update began: no gradient of " + name);
            }
            grads.put(name, unscale == 1 ? g : g.muli(unscale));
        }
        return grads;
    }

    @Override
    public void endUpdate() {
        sums.values().forEach(NDArray::close);
        sums.clear();
    }

    @Override
    public void close() {
        half.close();
    }
}
