package dev.eaglespark.draft;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;

/** fp32 compute on the master weights: gradients add up in the masters' own .grad. */
final class MasterWeights implements ComputeWeights {
    private final DraftParams masters;
    private float unscale = 1;

    MasterWeights(DraftParams masters) {
        this.masters = masters;
    }

    @Override
    public DraftParams params() {
        return masters;
    }

    @Override
    public void beginUpdate() {
    }

    @Override
    public void afterBackward(float unscale) {
        this.unscale = unscale; // the .grad sums are unscaled once, in gradients()
    }

    @Override
    public Map<String, NDArray> gradients() {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (String name : masters.trainable()) {
            NDArray g = masters.get(name).getGradient(); // a wrapper of .grad: closing it frees nothing
            grads.put(name, unscale == 1 ? g : g.muli(unscale));
        }
        return grads;
    }

    @Override
    public void endUpdate() {
        masters.trainable().forEach(n -> JniUtils.zeroGrad((PtNDArray) masters.get(n)));
    }

    @Override
    public void close() {
    }
}
