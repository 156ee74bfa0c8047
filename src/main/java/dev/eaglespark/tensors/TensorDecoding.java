package dev.eaglespark.tensors;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Decodes little-endian tensor bytes into Java arrays and buffers. */
public final class TensorDecoding {
    private TensorDecoding() {}

    /** Decodes {@code count} elements of {@code src} into {@code out[at...]} as floats. */
    public static void toFloats(TensorDType dtype, ByteBuffer src, float[] out, int at, int count, String name) {
        ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out, at, count);
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    out[at + i] = (float) b.getDouble(i * 8);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[at + i] = Fp16.toFloat(b.getShort(i * 2));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[at + i] = Bf16.toFloat(b.getShort(i * 2));
                }
            }
            default -> throw new TensorFormatException(name + ": expected a floating tensor, found " + dtype);
        }
    }

    public static void toLongs(TensorDType dtype, ByteBuffer src, long[] out, String name) {
        ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (dtype) {
                case I64 -> b.getLong(i * 8);
                case I32 -> b.getInt(i * 4);
                case I8 -> b.get(i);
                case U8, BOOL -> b.get(i) & 0xff;
                default -> throw new TensorFormatException(name + ": expected an integer tensor, found " + dtype);
            };
        }
    }

    /**
     * Copies a window of a tensor into a new direct buffer in the dtype DJL will hold: BF16 is
     * widened to F32, everything else is copied as is.
     */
    public static ByteBuffer toDjlBytes(TensorDType dtype, ByteBuffer src) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (dtype != TensorDType.BF16) {
            ByteBuffer out = ByteBuffer.allocateDirect(in.remaining()).order(ByteOrder.nativeOrder());
            out.put(in);
            return out.flip();
        }
        int n = in.remaining() / 2;
        ByteBuffer out = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            out.putInt(i * 4, (in.getShort(i * 2) & 0xffff) << 16);
        }
        return out;
    }
}
