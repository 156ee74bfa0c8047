package dev.eaglespark.vocab;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Fixtures;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DraftVocabTest {
    @Test
    void reproducesTheReferenceMappingFromTokenCounts() {
        try (SafeTensorsFile f = SafeTensorsFile.open(Fixtures.path("eagle3_standard_forward_kl.safetensors"))) {
            long[] counts = f.readLongs(DraftVocab.TOKEN_COUNTS);
            DraftVocab vocab = DraftVocab.fromCounts(counts, 256);
            DraftVocab reference = DraftVocab.read(f, "buffer.");
            assertArrayEquals(reference.t2d(), vocab.t2d());
            assertArrayEquals(reference.d2t(), vocab.d2t());
        }
    }

    @Test
    void readsWhatItWrites(@TempDir Path dir) throws Exception {
        DraftVocab v = DraftVocab.fromCounts(new long[] {5, 9, 5, 0, 5, 7}, 3);
        v.write(new org.apache.hadoop.fs.Path(dir.toUri()), new Configuration());
        DraftVocab back = DraftVocab.read(dir.resolve(DraftVocab.FILE).toString(), new Configuration());
        assertArrayEquals(v.t2d(), back.t2d());
        assertArrayEquals(v.d2t(), back.d2t());
        assertArrayEquals(v.tokenCounts(), back.tokenCounts());
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
