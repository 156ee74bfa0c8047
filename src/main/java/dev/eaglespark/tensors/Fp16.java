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

    /** Round to nearest even; overflow becomes infinity. */
    public static short fromFloat(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int absBits = x & 0x7fffffff;
        if (absBits > 0x7f800000) {
            return (short) (sign | 0x7e00);
        }
        if (absBits >= 0x477ff000) { // rounds to >= 65520: infinity
            return (short) (sign | 0x7c00);
        }
        if (absBits < 0x38800000) { // subnormal or zero in half
            float abs = Float.intBitsToFloat(absBits);
            int m = Math.round(abs * 0x1p24f); // Math.round is half-up; fix ties to even
            float exact = abs * 0x1p24f;
            if (exact - Math.floor(exact) == 0.5 && (m & 1) == 1) {
                m--;
            }
            return (short) (sign | m);
        }
        int exp = ((absBits >>> 23) - 112) << 10;
        int mant = absBits & 0x7fffff;
        int rounded = exp | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (rounded & 1) == 1)) {
            rounded++;
        }
        return (short) (sign | rounded);
    }
}
