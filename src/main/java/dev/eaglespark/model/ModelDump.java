package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.eaglespark.tensors.SafeTensorsWriter;
import dev.eaglespark.tensors.TensorDType;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Everything a target computes for a batch, in the layout transformers uses, for debugging a
 * target and for checks from outside the project: {@code hidden_states} [L+1, B, T, D] (0 = the
 * embeddings, i = the output of layer i-1, L = after the final norm), {@code logits} [B, T, V],
 * {@code input_ids} and {@code attention_mask} [B, T] (right padding), and optionally
 * {@code greedy} [B, N] (greedy continuation, -1 after a stop token).
 */
public final class ModelDump {
    private ModelDump() {}

    /** The tensors to write, and each sequence's greedy continuation (empty lists without --greedy). */
    public record Dump(SafeTensorsWriter tensors, List<long[]> greedy) {}

    public static Dump dump(TargetModel model, List<long[]> sequences, int greedyTokens,
                                         Set<Long> stopIds) {
        TargetConfig cfg = model.config();
        int b = sequences.size();
        int t = sequences.stream().mapToInt(s -> s.length).max().orElseThrow();
        int l = cfg.numLayers();
        int d = cfg.hiddenSize();
        int v = cfg.vocabSize();
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        float[] hidden = new float[(l + 1) * b * t * d];
        float[] logits = new float[b * t * v];
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            ForwardResult r = model.forward(m, sequences, ForwardRequest.everything(l));
            for (int row = 0; row < b; row++) {
                long[] s = sequences.get(row);
                System.arraycopy(s, 0, ids, row * t, s.length);
                Arrays.fill(mask, row * t, row * t + s.length, 1);
                for (int i = 0; i <= l; i++) {
                    NDArray state = i < l ? r.hidden().get(i) : r.normedHidden();
                    copyRow(state, row, s.length * d, hidden, (i * b + row) * t * d);
                }
                copyRow(r.logits(), row, s.length * v, logits, row * t * v);
            }
        }
        SafeTensorsWriter w = new SafeTensorsWriter()
                .metadata("hidden_states", "index 0 = embeddings, i = output of layer i-1, " + l + " = after final norm")
                .addLongs("input_ids", new long[] {b, t}, ids)
                .addLongs("attention_mask", new long[] {b, t}, mask)
                .addFloats("hidden_states", new long[] {l + 1, b, t, d}, hidden, TensorDType.F32)
                .addFloats("logits", new long[] {b, t, v}, logits, TensorDType.F32);
        List<long[]> continuations = new java.util.ArrayList<>();
        if (greedyTokens > 0) {
            long[] greedy = new long[b * greedyTokens];
            Arrays.fill(greedy, -1);
            List<Generator.Request> requests = sequences.stream()
                    .map(s -> Generator.Request.greedy(s, greedyTokens)).toList();
            List<Generator.Result> results = new Generator(model, stopIds).generate(requests);
            for (int row = 0; row < b; row++) {
                long[] g = results.get(row).tokens();
                continuations.add(g);
                System.arraycopy(g, 0, greedy, row * greedyTokens, g.length);
            }
            w.addLongs("greedy", new long[] {b, greedyTokens}, greedy);
        }
        return new Dump(w, continuations);
    }

    private static void copyRow(NDArray batched, int row, int count, float[] dst, int at) {
        float[] values = batched.get(row).toType(DataType.FLOAT32, false).toFloatArray();
        System.arraycopy(values, 0, dst, at, count);
    }
}
