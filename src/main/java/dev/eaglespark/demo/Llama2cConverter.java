package dev.eaglespark.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eaglespark.model.ModelLoadException;
import dev.eaglespark.tensors.SafeTensorsWriter;
import dev.eaglespark.tensors.TensorDType;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Converts a llama2.c checkpoint (Karpathy's format: 7 int32 header fields, then fp32 arrays)
 * into a Hugging Face Llama model directory. llama2.c rotates adjacent pairs where transformers
 * rotates halves, so the q and k rows are permuted per head, as transformers' own converter does.
 */
public final class Llama2cConverter {
    private Llama2cConverter() {}

    private record Header(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, boolean shared,
                          int seqLen) {}

    /** Reads the checkpoint from {@code in} and writes config.json and model.safetensors into {@code outDir}. */
    public static void convert(InputStream in, Path outDir) throws IOException {
        DataInputStream data = new DataInputStream(in);
        Header h = readHeader(data);
        int d = h.dim, l = h.layers, kvDim = h.dim / h.heads * h.kvHeads;
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        float[] embed = floats(data, (long) h.vocab * d);
        w.addFloats("model.embed_tokens.weight", new long[] {h.vocab, d}, embed, TensorDType.F32);
        float[][] rmsAtt = perLayer(data, l, d);
        float[][] wq = perLayer(data, l, d * d);
        float[][] wk = perLayer(data, l, kvDim * d);
        float[][] wv = perLayer(data, l, kvDim * d);
        float[][] wo = perLayer(data, l, d * d);
        float[][] rmsFfn = perLayer(data, l, d);
        float[][] w1 = perLayer(data, l, h.hidden * d);
        float[][] w2 = perLayer(data, l, d * h.hidden);
        float[][] w3 = perLayer(data, l, h.hidden * d);
        float[] rmsFinal = floats(data, d);
        for (int i = 0; i < l; i++) {
            String p = "model.layers." + i + ".";
            w.addFloats(p + "input_layernorm.weight", new long[] {d}, rmsAtt[i], TensorDType.F32);
            w.addFloats(p + "self_attn.q_proj.weight", new long[] {d, d}, permuteRope(wq[i], h.heads, d),
                    TensorDType.F32);
            w.addFloats(p + "self_attn.k_proj.weight", new long[] {kvDim, d}, permuteRope(wk[i], h.kvHeads, d),
                    TensorDType.F32);
            w.addFloats(p + "self_attn.v_proj.weight", new long[] {kvDim, d}, wv[i], TensorDType.F32);
            w.addFloats(p + "self_attn.o_proj.weight", new long[] {d, d}, wo[i], TensorDType.F32);
            w.addFloats(p + "post_attention_layernorm.weight", new long[] {d}, rmsFfn[i], TensorDType.F32);
            w.addFloats(p + "mlp.gate_proj.weight", new long[] {h.hidden, d}, w1[i], TensorDType.F32);
            w.addFloats(p + "mlp.down_proj.weight", new long[] {d, h.hidden}, w2[i], TensorDType.F32);
            w.addFloats(p + "mlp.up_proj.weight", new long[] {h.hidden, d}, w3[i], TensorDType.F32);
        }
        w.addFloats("model.norm.weight", new long[] {d}, rmsFinal, TensorDType.F32);
        if (!h.shared) {
            data.skipNBytes((long) h.seqLen * (d / h.heads) * 4); // freq_cis_real, freq_cis_imag
            w.addFloats("lm_head.weight", new long[] {h.vocab, d}, floats(data, (long) h.vocab * d), TensorDType.F32);
        }
        Files.createDirectories(outDir);
        Path tmp = outDir.resolve("model.safetensors.tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            w.writeTo(new java.io.BufferedOutputStream(out, 1 << 20));
        }
        Files.move(tmp, outDir.resolve("model.safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(outDir.resolve("config.json"), config(h));
    }

    private static Header readHeader(DataInputStream data) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data.readNBytes(28)).order(ByteOrder.LITTLE_ENDIAN);
        int dim = b.getInt(), hidden = b.getInt(), layers = b.getInt(), heads = b.getInt(), kv = b.getInt();
        int vocab = b.getInt(), seq = b.getInt();
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kv <= 0 || seq <= 0 || dim % heads != 0) {
            throw new ModelLoadException("not a llama2.c checkpoint: header " + dim + "," + hidden + "," + layers
                    + "," + heads + "," + kv + "," + vocab + "," + seq);
        }
        return new Header(dim, hidden, layers, heads, kv, Math.abs(vocab), vocab > 0, seq);
    }

    /** W.view(heads, hd/2, 2, D).transpose(1, 2).reshape(heads*hd, D): pairs (2i, 2i+1) to halves. */
    static float[] permuteRope(float[] w, int heads, int d) {
        int rows = w.length / d;
        int headDim = rows / heads;
        float[] out = new float[w.length];
        for (int hd = 0; hd < heads; hd++) {
            for (int i = 0; i < headDim / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    int src = hd * headDim + i * 2 + j;
                    int dst = hd * headDim + j * (headDim / 2) + i;
                    System.arraycopy(w, src * d, out, dst * d, d);
                }
            }
        }
        return out;
    }

    private static String config(Header h) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("hidden_size", h.dim);
        c.put("intermediate_size", h.hidden);
        c.put("num_hidden_layers", h.layers);
        c.put("num_attention_heads", h.heads);
        c.put("num_key_value_heads", h.kvHeads);
        c.put("head_dim", h.dim / h.heads);
        c.put("vocab_size", h.vocab);
        c.put("max_position_embeddings", h.seqLen);
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", h.shared);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", "float32");
        return json.writerWithDefaultPrettyPrinter().writeValueAsString(c);
    }

    private static float[][] perLayer(DataInputStream in, int layers, int size) throws IOException {
        float[][] out = new float[layers][];
        for (int i = 0; i < layers; i++) {
            out[i] = floats(in, size);
        }
        return out;
    }

    private static float[] floats(DataInputStream in, long count) throws IOException {
        byte[] bytes = in.readNBytes(Math.toIntExact(count * 4));
        if (bytes.length != count * 4) {
            throw new ModelLoadException("llama2.c checkpoint is truncated");
        }
        float[] out = new float[(int) count];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }
}
