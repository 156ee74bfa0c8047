package dev.eaglespark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * cos/sin tables for rotary position embedding, computed in fp32 exactly as transformers does
 * (inverse frequencies in fp32, angle = position * inv_freq rounded to fp32), including the
 * llama3 and linear scalings.
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

    /** [count, headDim] cos and sin for positions start..start+count-1, in {@code type}. */
    public NDList table(NDManager manager, long start, int count, DataType type) {
        float[] cos = new float[count * headDim];
        float[] sin = new float[count * headDim];
        for (int t = 0; t < count; t++) {
            fill(start + t, cos, sin, t * headDim);
        }
        Shape shape = new Shape(count, headDim);
        return cast(manager.create(cos, shape), manager.create(sin, shape), type);
    }

    /** cos/sin of one position at {@code at}: fp32 angle = position * inv_freq, halves repeated. */
    private void fill(long position, float[] cos, float[] sin, int at) {
        int half = invFreq.length;
        float pos = (float) position;
        for (int i = 0; i < half; i++) {
            float angle = pos * invFreq[i];
            float c = (float) Math.cos(angle);
            float s = (float) Math.sin(angle);
            cos[at + i] = c;
            cos[at + half + i] = c;
            sin[at + i] = s;
            sin[at + half + i] = s;
        }
    }

    private static NDList cast(NDArray c, NDArray s, DataType type) {
        if (type == DataType.FLOAT32) {
            return new NDList(c, s);
        }
        return new NDList(c.toType(type, false), s.toType(type, false));
    }

    /** [B, 1, 1, headDim] cos and sin for one position per row (a decoding step). */
    public NDList tableAt(NDManager manager, long[] positions, DataType type) {
        int b = positions.length;
        float[] cos = new float[b * headDim];
        float[] sin = new float[b * headDim];
        for (int r = 0; r < b; r++) {
            fill(positions[r], cos, sin, r * headDim);
        }
        return cast(manager.create(cos, new Shape(b, 1, 1, headDim)), manager.create(sin, new Shape(b, 1, 1, headDim)),
                type);
    }

    public int headDim() {
        return headDim;
    }
}
