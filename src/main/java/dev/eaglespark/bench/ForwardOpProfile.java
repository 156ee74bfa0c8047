package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.model.HostStaging;
import dev.eaglespark.model.LayerScript;
import dev.eaglespark.model.Ops;
import dev.eaglespark.model.RopeCache;
import dev.eaglespark.model.RopePrecision;
import dev.eaglespark.model.RotaryEmbedding;
import dev.eaglespark.model.ScriptModule;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Time per op class of the stage-1 forward, where DJL's profiler records no kernel times: each
 * class of a decoder layer (the same Ops calls, at the target's shapes, random fp16 inputs) runs
 * alone many times in a row and is timed twice: until the host has queued every repetition
 * (dispatch through JNI) and until the GPU has finished them. An op class whose GPU time is below
 * its dispatch time keeps the GPU waiting for the host. Per-forward times multiply by the layers.
 */
public final class ForwardOpProfile {
    /** Causal attention as the scripted layer runs it (flash kernel; GQA by repeated KV heads), alone. */
    private static final ScriptModule ATTENTION = ScriptModule.of("CausalAttention", """
              def forward(self: __torch__.CausalAttention, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
                groups = torch.size(q, 1) // torch.size(k, 1)
                if groups > 1:
                  k = torch.repeat_interleave(k, groups, 1)
                  v = torch.repeat_interleave(v, groups, 1)
                return torch.transpose(torch.scaled_dot_product_attention(q, k, v, None, 0., True), 1, 2)
            """);

    /** One op class: host dispatch and GPU time per forward pass, in ms. */
    public record Row(String name, int perLayer, double dispatchMs, double gpuMs) {}

    private final TargetConfig cfg;
    private final Device device;

    public ForwardOpProfile(TargetConfig cfg, Device device) {
        this.cfg = cfg;
        this.device = device;
    }

    public List<Row> run(int batch, int seq, int repeats) {
        List<Row> rows = new ArrayList<>();
        int h = cfg.hiddenSize();
        int d = cfg.headDim();
        long qDim = (long) cfg.numHeads() * d;
        long kvDim = (long) cfg.numKvHeads() * d;
        long inter = cfg.intermediateSize();
        DataType f16 = TargetModel.defaultDtype(device); // fp16 on a GPU
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray x = m.randomNormal(0, 1, new Shape(batch, seq, h), DataType.FLOAT32).toType(f16, false);
            NDArray norm = m.ones(new Shape(h), f16);
            NDArray qkv = weight(m, qDim + 2 * kvDim, h, f16);
            NDArray o = weight(m, h, qDim, f16);
            NDArray gateUp = weight(m, 2 * inter, h, f16);
            NDArray down = weight(m, h, inter, f16);
            // cos, sin and the sign-folded sin the scripted layer takes
            NDList rope = new RopeCache(new RotaryEmbedding(cfg.rope(), d, RopePrecision.FP32), m).fromZero(m, seq, f16);
            NDArray fused = Ops.linear(x, qkv);
            NDArray q = heads(fused.get("..., :{}", qDim), cfg.numHeads());
            NDArray k = heads(fused.get("..., {}:{}", qDim, qDim + kvDim), cfg.numKvHeads());
            NDArray v = heads(fused.get("..., {}:", qDim + kvDim), cfg.numKvHeads());
            NDArray attended = attention(q, k, v);
            NDArray both = Ops.linear(x, gateUp);
            NDArray act = both.get("..., :{}", inter).mul(both.get("..., {}:", inter));
            Map<String, Function<NDManager, NDArray>> ops = new LinkedHashMap<>();
            ops.put("RMSNorm (2 per layer)", s -> Ops.rmsNorm(x, norm, cfg.rmsNormEps()));
            ops.put("QKV projection GEMM", s -> Ops.linear(x, qkv));
            ops.put("split to heads + rotary (q and k)", s -> {
                NDList parts = fused.split(new long[] {qDim, qDim + kvDim}, 2);
                Ops.applyRope(heads(parts.get(0), cfg.numHeads()), rope.get(0), rope.get(1));
                return Ops.applyRope(heads(parts.get(1), cfg.numKvHeads()), rope.get(0), rope.get(1));
            });
            ops.put("causal attention (scaled_dot_product_attention)", s -> attention(q, k, v));
            ops.put("output projection GEMM + residual", s -> x.add(Ops.linear(attended, o)));
            ops.put("gate/up projection GEMM", s -> Ops.linear(x, gateUp));
            ops.put("SwiGLU elementwise (split, silu, product)", s -> {
                NDList halves = both.split(2, 2);
                return Ops.silu(halves.get(0)).mul(halves.get(1));
            });
            ops.put("down projection GEMM + residual", s -> x.add(Ops.linear(act, down)));
            LayerScript script = new LayerScript(cfg);
            NDArray qNorm = m.ones(new Shape(d), f16);
            NDArray bias = m.zeros(new Shape(qDim + 2 * kvDim), f16);
            ops.put("whole layer as one TorchScript call (what the forward runs)", s -> script.forward(x, rope.get(0),
                    rope.get(2), norm, qkv, bias, o, qNorm, qNorm, norm, gateUp, down));
            for (Map.Entry<String, Function<NDManager, NDArray>> e : ops.entrySet()) {
                int perLayer = e.getKey().startsWith("RMSNorm") ? 2 : 1;
                double[] t = time(m, e.getValue(), repeats);
                double scale = (double) perLayer * cfg.numLayers();
                rows.add(new Row(e.getKey(), perLayer, t[0] * scale, t[1] * scale));
            }
            // Once per forward: the three aux states fused and both feature tensors copied to the host.
            NDList aux = new NDList(x, x, x);
            try (HostStaging staging = HostStaging.forDevice(device)) {
                double[] copy = time(m, s -> {
                    staging.read(Ops.concat(aux, 2), b -> b.get(0));
                    staging.read(x, b -> b.get(0));
                    return x;
                }, Math.max(2, repeats / 4));
                rows.add(new Row("aux fusion + copy of the features to the host", 0, copy[0], copy[1]));
            }
        }
        return rows;
    }

    /**
     * ms per call: [queued, finished]. Each call runs in its own scope, closed before the next
     * (as a layer's temporaries are), and one scalar read at the end waits for the GPU.
     */
    private static double[] time(NDManager m, Function<NDManager, NDArray> op, int repeats) {
        try (NDManager warm = m.newSubManager()) {
            op.apply(warm).sum().getFloat(); // first call: kernel selection, allocator growth
        }
        NDArray last = null;
        long start = System.nanoTime();
        List<NDManager> scopes = new ArrayList<>();
        for (int i = 0; i < repeats; i++) {
            NDManager s = m.newSubManager();
            scopes.add(s);
            last = op.apply(s);
        }
        long queued = System.nanoTime();
        last.sum().getFloat();
        long done = System.nanoTime();
        scopes.forEach(NDManager::close);
        return new double[] {(queued - start) / 1e6 / repeats, (done - start) / 1e6 / repeats};
    }

    /** [B, T, heads*d] from q [B, heads, T, d] and k, v [B, kvHeads, T, d]. */
    private static NDArray attention(NDArray q, NDArray k, NDArray v) {
        long[] s = q.getShape().getShape();
        return ATTENTION.call(q, k, v).reshape(s[0], s[2], s[1] * s[3]);
    }

    private NDArray heads(NDArray x, int n) {
        long[] s = x.getShape().getShape();
        return x.reshape(s[0], s[1], n, cfg.headDim()).transpose(0, 2, 1, 3);
    }

    private static NDArray weight(NDManager m, long rows, long cols, DataType type) {
        return m.randomNormal(0, 0.02f, new Shape(rows, cols), DataType.FLOAT32).toType(type, false);
    }

    /** The rows as a Markdown table, with their sum. */
    public static String format(List<Row> rows, double measuredForwardMs) {
        StringBuilder sb = new StringBuilder("| op class | per layer | host dispatch ms/forward | GPU ms/forward |\n"
                + "| --- | --- | --- | --- |\n");
        double dispatch = 0;
        double gpu = 0;
        for (Row r : rows) {
            boolean whole = r.name().startsWith("whole layer");
            sb.append(String.format("| %s | %s | %.1f | %.1f |%n", r.name(), r.perLayer() == 0 ? "once" : r.perLayer(),
                    r.dispatchMs(), r.gpuMs()));
            if (!whole) { // the op classes add up to a layer made of separate ops
                dispatch += r.dispatchMs();
                gpu += r.gpuMs();
            }
        }
        sb.append(String.format("| sum of the op classes and the copy | | %.1f | %.1f |%n", dispatch, gpu));
        if (measuredForwardMs > 0) {
            sb.append(String.format("| whole iteration as measured | | | %.1f |%n", measuredForwardMs));
        }
        return sb.toString();
    }
}
