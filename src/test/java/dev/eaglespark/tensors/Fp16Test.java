package dev.eaglespark.tensors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

/**
 * Fp16.fromFloat against a plain reference: the half nearest to the exact value (ties to the
 * even mantissa), found by comparing exact decimal distances to the two neighbouring halves. Every
 * half's neighbourhood is checked: the half itself, the midpoints to its neighbours and the floats
 * just beside those midpoints, both signs, plus overflow, infinities and NaN.
 */
class Fp16Test {
    @Test
    void roundsToNearestEvenAroundEveryHalf() {
        for (int h = 0; h < 0x7c00; h++) { // every finite non-negative half
            float v = Fp16.toFloat((short) h);
            assertEquals(h, Fp16.fromFloat(v) & 0xffff, "exact half " + h);
            assertEquals(h | 0x8000, Fp16.fromFloat(-v) & 0xffff, "exact half -" + h);
            if (h + 1 < 0x7c00) {
                float next = Fp16.toFloat((short) (h + 1));
                float mid = (v + next) / 2; // exact in fp32: halves have 11 significant bits
                for (float f : new float[] {mid, Math.nextDown(mid), Math.nextUp(mid)}) {
                    assertEquals(reference(f), Fp16.fromFloat(f) & 0xffff, "float " + f + " between halves " + h);
                    assertEquals(reference(f) | 0x8000, Fp16.fromFloat(-f) & 0xffff, "float -" + f);
                }
            }
        }
    }

    @Test
    void overflowInfinityAndNaN() {
        assertEquals(0x7bff, Fp16.fromFloat(65504f) & 0xffff);
        assertEquals(0x7bff, Fp16.fromFloat(65519.99f) & 0xffff);
        assertEquals(0x7c00, Fp16.fromFloat(65520f) & 0xffff); // the tie rounds up to infinity
        assertEquals(0x7c00, Fp16.fromFloat(Float.MAX_VALUE) & 0xffff);
        assertEquals(0xfc00, Fp16.fromFloat(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(0x7e00, Fp16.fromFloat(Float.NaN) & 0xffff);
        assertEquals(0x8000, Fp16.fromFloat(-0f) & 0xffff);
        assertEquals(0, Fp16.fromFloat(Float.MIN_VALUE) & 0xffff);
        assertEquals(1, Fp16.fromFloat(0x1p-24f) & 0xffff);
        assertEquals(0, Fp16.fromFloat(0x1p-25f) & 0xffff); // tie between 0 and the smallest: even
        assertEquals(1, Fp16.fromFloat(Math.nextUp(0x1p-25f)) & 0xffff);
    }

    /** The nearest non-negative half to |f| < 65504, ties to even, by exact arithmetic. */
    private static int reference(float f) {
        BigDecimal x = new BigDecimal(Math.abs(f));
        int best = 0;
        BigDecimal bestDist = null;
        int lo = Math.max(0, (Fp16.fromFloat(Math.abs(f)) & 0x7fff) - 2);
        for (int h = lo; h <= Math.min(0x7bff, lo + 4); h++) {
            BigDecimal d = new BigDecimal(Fp16.toFloat((short) h)).subtract(x).abs();
            int c = bestDist == null ? -1 : d.compareTo(bestDist);
            if (c < 0 || (c == 0 && (h & 1) == 0)) {
                best = h;
                bestDist = d;
            }
        }
        return best;
    }
}
