package dev.eaglespark.vocab;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Fixtures;
import org.junit.jupiter.api.Test;

class DraftVocabTest {
    @Test
    void reproducesTheReferenceMappingFromTokenCounts() {
        try (SafeTensorsFile f = SafeTensorsFile.open(Fixtures.path("eagle3_standard_forward_kl.safetensors"))) {
            long[] counts = f.readLongs("token_counts");
            DraftVocab vocab = DraftVocab.fromCounts(counts, 256);
            long[] t2d = f.readLongs("buffer.t2d");
            boolean[] expected = new boolean[t2d.length];
            for (int i = 0; i < t2d.length; i++) {
                expected[i] = t2d[i] != 0;
            }
            assertArrayEquals(expected, vocab.t2d());
            assertArrayEquals(f.readLongs("buffer.d2t"), vocab.d2t());
        }
    }

    @Test
    void tiesGoToTheLowerIdAndIdsAreSorted() {
        DraftVocab v = DraftVocab.fromCounts(new long[] {5, 9, 5, 0, 5, 7}, 3);
        assertArrayEquals(new boolean[] {true, true, false, false, false, true}, v.t2d());
        assertArrayEquals(new long[] {0, 0, 3}, v.d2t());
        assertEquals(5, v.targetId(2));
        assertEquals((5 + 9 + 7) / 31.0, v.coverage(), 1e-12);
    }

    @Test
    void identityHasZeroOffsets() {
        DraftVocab v = DraftVocab.identity(4);
        assertArrayEquals(new long[4], v.d2t());
        assertEquals(3, v.targetId(3));
    }
}
