package dev.eaglespark.draft;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.runtime.GradMode;
import dev.eaglespark.runtime.ScriptModule;
import dev.eaglespark.runtime.ScriptTemplate;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * fp16 compute with fp32 masters. Frozen weights (embed_tokens, a shared head) are copied to
 * fp16 once; trainable ones are copied at every update, as gradient leaves of their own: DJL
 * runs toType without autograd, so a cast of a master would cut the graph. After each
 * micro-batch the fp16 gradients are unscaled into fp32 accumulators and zeroed, so accumulation
 * over micro-batches happens in fp32. For the power-of-two scales of the loss scaler, unscaling
 * each micro-batch's gradients gives exactly the sums that unscaling their sum would.
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

    /**
     * The fp16 gradients, unscaled, go into the fp32 sums in one pass each (the first
     * micro-batch's make the sums), and are zeroed for the next backward; one call for all.
     */
    @Override
    public void afterBackward(float unscale) {
        NDList grads = new NDList(); // wrappers of each .grad: closing them frees nothing
        try (GradMode off = GradMode.off(); NDManager host = NDManager.newBaseManager(Device.cpu())) {
            masters.trainable().forEach(name -> grads.add(half.get(name).getGradient()));
            NDArray u = host.create(new float[] {unscale});
            if (sums.isEmpty()) {
                NDList first = FIRST.forwardArgs(grads, u);
                int i = 0;
                for (String name : masters.trainable()) {
                    NDArray g32 = first.get(i++);
                    g32.attach(accumulators);
                    sums.put(name, g32);
                }
            } else {
                ADD.forwardArgs(grads, sums.values(), u).close();
            }
        } finally {
            grads.close();
        }
    }

    private static final ScriptModule FIRST = ScriptTemplate.module("FirstGradientSums", Map.of(),
            ScriptTemplate.of("draft/gradient-sums-first"));
    private static final ScriptModule ADD = ScriptTemplate.module("AddGradientSums", Map.of(),
            ScriptTemplate.of("draft/gradient-sums-add"));

    @Override
    public Map<String, NDArray> gradients() {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (String name : masters.trainable()) {
            NDArray g = sums.remove(name);
            if (g == null) {
                throw new IllegalStateException("no backward since the update began: no gradient of " + name);
            }
            grads.put(name, g);
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
