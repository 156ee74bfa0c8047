package dev.eaglespark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.model.ScriptModule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * AdamW as torch.optim.AdamW computes it: decoupled weight decay (p *= 1 - lr*wd),
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
    private List<String> scriptNames;
    private ScriptModule script;

    public AdamW(NDManager parent, double beta1, double beta2, double eps, double weightDecay) {
        this.manager = parent.newSubManager();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /**
     * One update of every named parameter with its gradient at learning rate {@code lr}: the
     * in-place ops of torch.optim.AdamW's single-tensor path (lerp_, addcmul_, addcdiv_), all
     * tensors in one TorchScript call, the scalars passed as numbers. Through DJL the same update
     * was a dozen passes over every tensor, each scalar first copied to the device.
     */
    public void update(Map<String, NDArray> params, Map<String, NDArray> grads, double lr) {
        step++;
        List<String> names = new ArrayList<>(params.keySet());
        NDList in = new NDList();
        for (String name : names) {
            NDArray p = params.get(name);
            m.computeIfAbsent(name, k -> manager.zeros(p.getShape(), p.getDataType()));
            v.computeIfAbsent(name, k -> manager.zeros(p.getShape(), p.getDataType()));
        }
        if (!names.equals(scriptNames)) { // the same parameters every update: generated once
            double[] decay = new double[names.size()];
            for (int i = 0; i < names.size(); i++) {
                decay[i] = params.get(names.get(i)).getShape().dimension() >= 2 ? weightDecay : 0;
            }
            script = ScriptModule.of("AdamWUpdate" + names.size(), code(decay));
            scriptNames = names;
        }
        double bc1 = 1 - Math.pow(beta1, step);
        double bc2 = 1 - Math.pow(beta2, step);
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            // lr, step size and sqrt(bias correction 2) on the host: read as numbers, no device copy.
            in.add(host.create(new double[] {lr, lr / bc1, Math.sqrt(bc2)}));
            for (Map<String, NDArray> group : List.of(params, grads, m, v)) {
                names.forEach(n -> in.add(group.get(n)));
            }
            script.forward(in).close();
        }
    }

    /** forward(hyper [lr, step size, sqrt(bc2)], n params, n grads, n first moments, n second moments). */
    private String code(double[] decay) {
        int n = decay.length;
        StringBuilder args = new StringBuilder();
        StringBuilder lists = new StringBuilder();
        for (String group : new String[] {"p", "g", "m", "v"}) {
            lists.append("    ").append(group).append("s = [");
            for (int i = 0; i < n; i++) {
                args.append(", ").append(group).append(i).append(": Tensor");
                lists.append(i == 0 ? "" : ", ").append(group).append(i);
            }
            lists.append("]\n");
        }
        StringBuilder decays = new StringBuilder();
        for (int i = 0; i < n; i++) {
            decays.append(i == 0 ? "" : ", ").append(num(decay[i]));
        }
        return String.format(Locale.ROOT, """
                  def forward(self: __torch__.AdamWUpdate%d, hyper: Tensor%s) -> Tensor:
                %s    decays = [%s]
                    lr = float(hyper[0])
                    step_size = float(hyper[1])
                    bc2_sqrt = float(hyper[2])
                    for i in range(%d):
                      p = ps[i]
                      if decays[i] != 0.:
                        torch.mul_(p, 1. - lr * decays[i])
                      torch.lerp_(ms[i], gs[i], %s)
                      torch.addcmul_(torch.mul_(vs[i], %s), gs[i], gs[i], value=%s)
                      denom = torch.add_(torch.div(torch.sqrt(vs[i]), bc2_sqrt), %s)
                      torch.addcdiv_(p, ms[i], denom, value=-step_size)
                    return hyper
                """, n, args, lists, decays, n, num(1 - beta1), num(beta2), num(1 - beta2), num(eps));
    }

    private static String num(double x) {
        return String.format(Locale.ROOT, "%.17g", x);
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
