package dev.eaglespark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW exactly as torch.optim.AdamW computes it: decoupled weight decay (p *= 1 - lr*wd),
 * fp32 moments, bias-corrected step p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps). Weight decay
 * applies to matrices only; norm weights are left alone.
 */
public final class AdamW implements AutoCloseable {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager manager;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private long step;

    public AdamW(NDManager parent, double beta1, double beta2, double eps, double weightDecay) {
        this.manager = parent.newSubManager();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /** One update of every named parameter with its gradient at learning rate {@code lr}. */
    public void update(Map<String, NDArray> params, Map<String, NDArray> grads, double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2 = 1 - Math.pow(beta2, step);
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            String name = e.getKey();
            NDArray p = e.getValue();
            NDArray g = grads.get(name);
            NDArray mt = m.computeIfAbsent(name, k -> manager.zeros(p.getShape(), p.getDataType()));
            NDArray vt = v.computeIfAbsent(name, k -> manager.zeros(p.getShape(), p.getDataType()));
            if (weightDecay != 0 && p.getShape().dimension() >= 2) {
                p.muli((float) (1 - lr * weightDecay));
            }
            // Every temporary lands in tmp (results go to the first operand's manager): nothing
            // accumulates in the optimizer's or the parameters' managers from step to step.
            try (NDManager tmp = manager.newSubManager()) {
                g.tempAttach(tmp);
                mt.tempAttach(tmp);
                vt.tempAttach(tmp);
                p.tempAttach(tmp);
                mt.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
                vt.muli((float) beta2).addi(g.square().muli((float) (1 - beta2)));
                NDArray denom = vt.sqrt().divi((float) Math.sqrt(bc2)).addi((float) eps);
                p.subi(mt.div(denom).muli((float) (lr / bc1)));
            }
        }
    }

    /** Counts an update that was skipped (non-finite gradients): the schedule moves on, moments stay. */
    public void skip() {
        step++;
    }

    public long steps() {
        return step;
    }

    /** First and second moments by parameter name, for checkpoints. */
    public Map<String, NDArray> firstMoments() {
        return m;
    }

    public Map<String, NDArray> secondMoments() {
        return v;
    }

    /** Restores moments and the step count from a checkpoint. */
    public void restore(Map<String, NDArray> first, Map<String, NDArray> second, long steps) {
        m.values().forEach(NDArray::close);
        v.values().forEach(NDArray::close);
        m.clear();
        v.clear();
        first.forEach((k, a) -> m.put(k, own(a)));
        second.forEach((k, a) -> v.put(k, own(a)));
        this.step = steps;
    }

    private NDArray own(NDArray a) {
        NDArray c = a.duplicate();
        c.attach(manager);
        return c;
    }

    @Override
    public void close() {
        manager.close();
    }
}
