package dev.eaglespark.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.eaglespark.model.DecodeScript;
import dev.eaglespark.model.LayerScript;
import dev.eaglespark.model.LayerWeights;
import dev.eaglespark.model.RopeCache;
import dev.eaglespark.model.RopePrecision;
import dev.eaglespark.model.RotaryEmbedding;
import dev.eaglespark.model.TargetConfig;
import dev.eaglespark.model.TargetModel;
import java.util.ArrayList;
import java.util.List;

/**
 * GPU time per section of a decode step, where DJL's profiler records no kernel times and a CUDA
 * graph's replay shows none: one decoder layer in the form the decode step runs it (STEP: one
 * token per row, its key and value written into slot buffers, attention over the slots with each
 * row's bias), at the target's shapes (random fp16 weights), every row at one position, with
 * CUDA events between the sections
 * ({@link LayerScript#stepSectionMillis}); per step, a layer's times the layers. What the layer
 * sections leave of a measured step is the embedding, the rotary rows and bias, the head and the
 * pick, and the gaps between kernels.
 */
public final class DecodeOpProfile {
    private final TargetConfig cfg;
    private final Device device;

    public DecodeOpProfile(TargetConfig cfg, Device device) {
        if (!device.isGpu()) {
            throw new IllegalArgumentException("section times come from CUDA events: --op-profile needs a GPU");
        }
        this.cfg = cfg;
        this.device = device;
    }

    /**
     * GPU ms per decode step of each layer section, the mean of {@code repeats} after 3 warm-ups,
     * every row feeding its token at {@code position}.
     */
    public List<ForwardOpProfile.Row> run(int batch, int position, int repeats) {
        int d = cfg.headDim();
        int kv = cfg.numKvHeads();
        int end = (int) DecodeScript.attendedPositions(position + 1L);
        long capacity = end;
        DataType f16 = TargetModel.defaultDtype(device);
        List<ForwardOpProfile.Row> rows = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray x = m.randomNormal(0, 1, new Shape(batch, 1, cfg.hiddenSize()), DataType.FLOAT32).toType(f16, false);
            NDList rope = new RopeCache(new RotaryEmbedding(cfg.rope(), d, RopePrecision.FP32), m)
                    .fromZero(m, position + 1, f16);
            NDArray cos = row(rope.get(0), position, batch, d);
            NDArray sin = row(rope.get(1), position, batch, d);
            // keys past the row's position hidden, as decode.torchscript's bias
            NDArray bias = m.arange(0, end, 1, DataType.INT64).gt(position).toType(f16, false)
                    .mul(-65504f).reshape(1, 1, 1, end).repeat(0, batch);
            NDArray keys = m.randomNormal(0, 1, new Shape(batch, kv, capacity, d), DataType.FLOAT32).toType(f16, false);
            NDArray values = keys.duplicate();
            long[] flat = new long[batch * kv];
            for (int r = 0; r < flat.length; r++) {
                flat[r] = r * capacity + position;
            }
            NDArray at = m.create(flat);
            NDArray lengths = m.full(new Shape(batch), position + 1, DataType.INT32);
            LayerWeights w = ForwardOpProfile.randomWeights(m, cfg, f16);
            LayerScript script = new LayerScript(cfg);
            List<String> names = script.stepSectionNames();
            double[] sum = new double[names.size()];
            int warmup = 3; // the optimizing executor profiles the first calls, fuses after
            for (int i = 0; i < warmup + repeats; i++) {
                float[] ms = script.stepSectionMillis(x, cos, sin, bias, keys, values, at, lengths, w);
                for (int s = 0; i >= warmup && s < ms.length; s++) {
                    sum[s] += ms[s];
                }
            }
            for (int s = 0; s < sum.length; s++) {
                rows.add(new ForwardOpProfile.Row(names.get(s), Double.NaN, sum[s] / repeats * cfg.numLayers()));
            }
        }
        return rows;
    }

    /** Row {@code position} of a rotary table [positions, d] (any leading ones), for every row: [batch, 1, 1, d]. */
    private static NDArray row(NDArray table, long position, int batch, int d) {
        return table.reshape(-1, d).get(new NDIndex("{}:{}", position, position + 1)).reshape(1, 1, 1, d)
                .repeat(0, batch);
    }
}
