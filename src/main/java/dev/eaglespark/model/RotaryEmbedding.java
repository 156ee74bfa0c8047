package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * cos/sin tables for rotary position embedding, computed in fp32 exactly as transformers does
 * (inverse frequencies in fp32, angle = position * inv_freq rounded to fp32), including the
 * llama3 and linear scalings. One convention serves every script ({@code scripts/rotary.torchscript}):
 * sin with rotate_half's sign folded in, [-sin of the first half, sin of the second], so that
 * x * cos + swap_halves(x) * sin is the embedding.
 */
public final class RotaryEmbedding {
    private final float[] invFreq;
    private final int headDim;

    public RotaryEmbedding(RopeScaling rope, int headDim, RopePrecision precision) {
        this.headDim = headDim;
        this.invFreq = inverseFrequencies(rope, headDim);
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = precision.round(invFreq[i]);
        }
    }

    static float[] inverseFrequencies(RopeScaling rope, int headDim) {
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            inv[i] = (float) (1.0 / (float) Math.pow(rope.theta(), exponent));
        }
        switch (rope.type()) {
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    inv[i] = (float) (inv[i] / rope.factor());
                }
            }
            case "llama3" -> llama3(rope, inv);
            default -> { }
        }
        return inv;
    }

    /** Llama 3.1's scaling: long wavelengths divided by factor, short kept, a smooth band between. */
    private static void llama3(RopeScaling r, float[] inv) {
        double lowWavelen = r.originalMaxPositions() / r.lowFreqFactor();
        double highWavelen = r.originalMaxPositions() / r.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            float f = inv[i];
            float wavelen = (float) (2 * Math.PI / f);
            float scaled = wavelen > lowWavelen ? (float) (f / r.factor()) : f;
            boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            if (medium) {
                float smooth = (float) ((r.originalMaxPositions() / wavelen - r.lowFreqFactor())
                        / (r.highFreqFactor() - r.lowFreqFactor()));
                scaled = (float) ((1 - smooth) * scaled / r.factor() + smooth * scaled);
            }
            inv[i] = scaled;
        }
    }

    /** [count, headDim] cos and the sign-folded sin for positions start..start+count-1, in {@code type}. */
    public NDList table(NDManager manager, long start, int count, DataType type) {
        long[] positions = new long[count];
        for (int t = 0; t < count; t++) {
            positions[t] = start + t;
        }
        return build(manager, positions, new Shape(count, headDim), type);
    }

    /** [B, 1, 1, headDim] cos and the sign-folded sin for one position per row (a decoding step). */
    public NDList tableAt(NDManager manager, long[] positions, DataType type) {
        return build(manager, positions, new Shape(positions.length, 1, 1, headDim), type);
    }

    /** cos/sin per position (fp32 angle = position * inv_freq, halves repeated), one row each. */
    private NDList build(NDManager manager, long[] positions, Shape shape, DataType type) {
        int half = invFreq.length;
        float[] cos = new float[positions.length * headDim];
        float[] sin = new float[positions.length * headDim];
        for (int r = 0; r < positions.length; r++) {
            float pos = (float) positions[r];
            int at = r * headDim;
            for (int i = 0; i < half; i++) {
                float angle = pos * invFreq[i];
                float c = (float) Math.cos(angle);
                float sn = (float) Math.sin(angle);
                cos[at + i] = c;
                cos[at + half + i] = c;
                sin[at + i] = -sn;
                sin[at + half + i] = sn;
            }
        }
        NDArray c = manager.create(cos, shape);
        NDArray sn = manager.create(sin, shape);
        return type == DataType.FLOAT32 ? new NDList(c, sn) : new NDList(c.toType(type, false), sn.toType(type, false));
    }

    public int headDim() {
        return headDim;
    }
}
