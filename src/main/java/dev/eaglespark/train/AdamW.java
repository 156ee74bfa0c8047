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
     * One update of every named parameter with its gradient at learning rate {@code lr}: torch's
     * fused AdamW kernel (torch.optim.AdamW(fused=True)), all tensors in one TorchScript call, the
     * scalars passed as numbers. Per element it reads p, g, m and v once and writes p, m and v
     * once; the single-tensor path's in-place ops (lerp_, addcmul_, sqrt, div, add_, addcdiv_)
     * made about twenty passes over the 1.7 GB of fp32 state of an 8B-sized draft.
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
        try (NDManager host = NDManager.newBaseManager(Device.cpu())) {
            // lr and the step count on the host: read as numbers, no device copy.
            in.add(host.create(new double[] {lr, step}));
            for (Map<String, NDArray> group : List.of(params, grads, m, v)) {
                names.forEach(n -> in.add(group.get(n)));
            }
            script.forward(in).close(); // wrappers of the parameters: closing them frees nothing
        }
    }

    /**
     * forward(hyper [lr, step], n params, n grads, n first moments, n second moments):
     * torch._fused_adamw_ once for the decayed tensors and once for the rest (the kernel takes one
     * weight decay). Its step count is a tensor made on the device, not an upload, which would
     * wait for the GPU. The updated tensors are returned: TorchScript drops an in-place op whose
     * only written value is a list that nothing reads afterwards.
     */
    private String code(double[] decay) {
        int n = decay.length;
        StringBuilder args = new StringBuilder();
        StringBuilder lists = new StringBuilder();
        tensorLists(n, args, lists);
        StringBuilder decays = new StringBuilder();
        for (int i = 0; i < n; i++) {
            decays.append(i == 0 ? "" : ", ").append(decay[i] != 0 ? "True" : "False");
        }
        return String.format(Locale.ROOT, """
                  def forward(self: __torch__.AdamWUpdate%d, hyper: Tensor%s) -> List[Tensor]:
                %s    decayed = [%s]
                    lr = float(hyper[0])
                    steps = torch.full([1], float(hyper[1]), dtype=6, layout=None, device=ops.prim.device(ps[0]))
                    updated = annotate(List[Tensor], [])
                    for wd in [True, False]:
                      p = annotate(List[Tensor], [])
                      g = annotate(List[Tensor], [])
                      m = annotate(List[Tensor], [])
                      v = annotate(List[Tensor], [])
                      s = annotate(List[Tensor], [])
                      for i in range(%d):
                        if decayed[i] == wd:
                          p.append(ps[i])
                          g.append(gs[i])
                          m.append(ms[i])
                          v.append(vs[i])
                          s.append(steps)
                      if len(p) > 0:
                        torch._fused_adamw_(p, g, m, v, annotate(List[Tensor], []), s, lr=lr, beta1=%s, beta2=%s,
                            weight_decay=%s if wd else 0., eps=%s, amsgrad=False, maximize=False,
                            grad_scale=None, found_inf=None)
                        updated = updated + p
                    return updated
                """, n, args, lists, decays, n, num(beta1), num(beta2), num(weightDecay), num(eps));
    }

    /** Arguments p0..pn-1, g0.., m0.., v0.. and the lines that gather them into ps, gs, ms, vs. */
    private static void tensorLists(int n, StringBuilder args, StringBuilder lists) {
        for (String group : new String[] {"p", "g", "m", "v"}) {
            lists.append("    ").append(group).append("s = [");
            for (int i = 0; i < n; i++) {
                args.append(", ").append(group).append(i).append(": Tensor");
                lists.append(i == 0 ? "" : ", ").append(group).append(i);
            }
            lists.append("]\n");
        }
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
