package dev.eaglespark.tensors;

/** IEEE half precision conversions (Java 17 has no Float.float16ToFloat). */
public final class Fp16 {
    /** Every half's float value: a lookup is several times faster than decoding the bits. */
    private static final float[] TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < TO_FLOAT.length; h++) {
            TO_FLOAT[h] = decode(h);
        }
    }

    private Fp16() {}

    public static float toFloat(short h) {
        return TO_FLOAT[h & 0xffff];
    }

    private static float decode(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** 2^-1 as seen by the subnormal trick below: adding it shifts a half subnormal's bits into place. */
    private static final int DENORM_MAGIC = ((127 - 15) + (23 - 10) + 1) << 23;

    /**
     * Round to nearest even; overflow becomes infinity, NaN a quiet NaN. Branch-light (after F.
     * Giesen's float_to_half_fast3_rtne): a half subnormal is rounded by the FPU itself, adding
     * a magic constant whose exponent leaves exactly half's subnormal bits in the low mantissa.
     */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int abs = x & 0x7fffffff;
        int out;
        if (abs >= 0x477ff000) { // rounds to >= 65520, infinity or NaN
            out = abs > 0x7f800000 ? 0x7e00 : 0x7c00;
        } else if (abs < 0x38800000) { // below half's smallest normal: subnormal or zero
            out = Float.floatToRawIntBits(Float.intBitsToFloat(abs) + Float.intBitsToFloat(DENORM_MAGIC))
                    - DENORM_MAGIC;
        } else {
            int odd = (abs >>> 13) & 1; // ties go to the even neighbour
            out = (abs + ((15 - 127) << 23) + 0xfff + odd) >>> 13;
        }
        return (short) (sign | out);
    }
}
