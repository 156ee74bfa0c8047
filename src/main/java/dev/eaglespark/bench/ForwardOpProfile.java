package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.model.LayerScript;
import dev.eaglespark.model.LayerWeights;
import dev.eaglespark.model.Ops;
import dev.eaglespark.model.RopeCache;
import dev.eaglespark.model.RopePrecision;
import dev.eaglespark.model.RotaryEmbedding;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.runtime.HostStaging;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Time per op class of the stage-1 forward, where DJL's profiler records no kernel times. On a
 * GPU, one decoder layer at the target's shapes (random fp16 weights) runs as the forward runs it,
 * one fused TorchScript call, with CUDA events between its sections ({@link LayerScript#sectionMillis}):
 * GPU time per section. Then the whole-layer call alone, many times in a row, timed until the
 * host has queued every call (dispatch through JNI) and until the GPU has finished them; and the
 * once-per-batch aux fusion and copy of the features to the host. Per-forward times multiply a
 * layer's by the layers.
 */
public final class ForwardOpProfile {
    /** One op class: host dispatch and GPU time per forward pass, in ms; a layer section's dispatch is NaN. */
    public record Row(String name, double dispatchMs, double gpuMs) {
        public boolean section() {
            return Double.isNaN(dispatchMs);
        }
    }

    static final String WHOLE_LAYER = "whole layer as one TorchScript call (what the forward runs)";

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
        DataType f16 = TargetModel.defaultDtype(device); // fp16 on a GPU
        double layers = cfg.numLayers();
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray x = m.randomNormal(0, 1, new Shape(batch, seq, h), DataType.FLOAT32).toType(f16, false);
            // cos and the sign-folded sin the scripted layer takes
            NDList rope = new RopeCache(new RotaryEmbedding(cfg.rope(), d, RopePrecision.FP32), m).fromZero(m, seq, f16);
            LayerWeights w = randomWeights(m, cfg, f16);
            LayerScript script = new LayerScript(cfg);
            if (device.isGpu()) {
                List<String> names = script.sectionNames();
                double[] sum = new double[names.size()];
                int warmup = 3; // the optimizing executor profiles the first calls, fuses after
                for (int i = 0; i < warmup + repeats; i++) {
                    float[] ms = script.sectionMillis(x, rope.get(0), rope.get(1), w);
                    for (int s = 0; i >= warmup && s < ms.length; s++) {
                        sum[s] += ms[s];
                    }
                }
                for (int s = 0; s < sum.length; s++) {
                    rows.add(new Row(names.get(s), Double.NaN, sum[s] / repeats * layers));
                }
            }
            double[] whole = time(m, s -> script.forward(x, rope.get(0), rope.get(1), w), repeats);
            rows.add(new Row(WHOLE_LAYER, whole[0] * layers, whole[1] * layers));
            // Once per forward: the three aux states fused and both feature tensors copied to the host.
            NDList aux = new NDList(x, x, x);
            try (HostStaging staging = HostStaging.forDevice(device)) {
                double[] copy = time(m, s -> {
                    staging.read(Ops.concat(aux, 2), b -> b.get(0));
                    staging.read(x, b -> b.get(0));
                    return x;
                }, Math.max(2, repeats / 4));
                rows.add(new Row("aux fusion + copy of the features to the host", copy[0], copy[1]));
            }
        }
        return rows;
    }

    /**
     * ms per call: [queued, finished]. Each call runs in its own scope, closed before the next
     * (as a layer's temporaries are), and one scalar read at the end waits for the GPU.
     */
    private static double[] time(NDManager m, Function<NDManager, NDArray> op, int repeats) {
        for (int i = 0; i < 3; i++) { // kernel selection, allocator growth, the executor's profiling runs
            try (NDManager warm = m.newSubManager()) {
                op.apply(warm).sum().getFloat();
            }
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

    /** One layer's weights at {@code cfg}'s shapes: random matrices, unit norms, zero biases. */
    static LayerWeights randomWeights(NDManager m, TargetConfig cfg, DataType type) {
        int h = cfg.hiddenSize();
        int d = cfg.headDim();
        long qDim = (long) cfg.numHeads() * d;
        long kvDim = (long) cfg.numKvHeads() * d;
        long inter = cfg.intermediateSize();
        NDArray norm = m.ones(new Shape(h), type);
        NDArray qNorm = m.ones(new Shape(d), type);
        return new LayerWeights(norm, weight(m, qDim + 2 * kvDim, h, type), m.zeros(new Shape(qDim + 2 * kvDim), type),
                weight(m, h, qDim, type), qNorm, qNorm, norm, weight(m, 2 * inter, h, type), weight(m, h, inter, type));
    }

    private static NDArray weight(NDManager m, long rows, long cols, DataType type) {
        return m.randomNormal(0, 0.02f, new Shape(rows, cols), DataType.FLOAT32).toType(type, false);
    }

    /**
     * The rows as a Markdown table, times per {@code per} (a forward, a decode step); the layer
     * sections with their share of their sum.
     */
    public static String format(List<Row> rows, double measuredMs, String per) {
        double sections = rows.stream().filter(Row::section).mapToDouble(Row::gpuMs).sum();
        StringBuilder sb = new StringBuilder(String.format("| op class | host dispatch ms/%s | GPU ms/%s | share of the "
                + "layer |%n| --- | --- | --- | --- |%n", per, per));
        rows.stream().filter(Row::section).forEach(r -> sb.append(String.format("| layer section: %s | | %.2f | %.1f%% |%n",
                r.name(), r.gpuMs(), 100 * r.gpuMs() / sections)));
        if (sections > 0) {
            sb.append(String.format("| sum of the layer sections (CUDA events in one fused call) | | %.2f | |%n", sections));
        }
        rows.stream().filter(r -> !r.section()).forEach(r -> sb.append(String.format("| %s | %.2f | %.2f | |%n",
                r.name(), r.dispatchMs(), r.gpuMs())));
        if (measuredMs > 0) {
            sb.append(String.format("| whole iteration as measured | | %.2f | |%n", measuredMs));
        }
        return sb.toString();
    }
}
