package dev.eaglespark.speculative;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.draft.DraftConfig;
import dev.eaglespark.draft.DraftParams;
import dev.eaglespark.draft.Eagle3Draft;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.tensors.SafeTensorsFile;
import dev.eaglespark.testutil.Fixtures;
import dev.eaglespark.vocab.DraftVocab;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Speculative decoding must produce exactly the target's greedy output, whatever the drafts. */
class SpeculativeDecoderTest {
    private static final int[] AUX = {2, 3, 3};
    private static final int K = 4;
    private static TargetModel target;
    private static SafeTensorsFile golden;

    @BeforeAll
    static void load() throws Exception {
        target = TargetModel.load(Stories15M.ensure(), Device.cpu());
        golden = SafeTensorsFile.open(Fixtures.path("stories15M/golden.safetensors"));
    }

    @AfterAll
    static void close() {
        target.close();
        golden.close();
    }

    private static long[] greedy(long[] prompt, int n) {
        return greedy(prompt, n, Set.of());
    }

    private static long[] greedy(long[] prompt, int n, Set<Long> stops) {
        return new Generator(target, stops).generate(List.of(Generator.Request.greedy(prompt, n))).get(0).tokens();
    }

    @Test
    void oracleDraftsAreAllAcceptedAndRandomOnesAlmostNever() {
        SpeculativeDecoder dec = new SpeculativeDecoder(target, AUX, K, Set.of());
        for (String p : List.of("p0", "p1", "p2")) {
            long[] prompt = golden.readLongs(p + ".input_ids");
            long[] expected = golden.readLongs(p + ".greedy");
            SpeculativeDecoder.Result oracle;
            try (Proposer o = new OracleProposer(target, prompt)) {
                oracle = dec.generate(prompt, 24, o);
            }
            SpeculativeDecoder.Result random;
            try (Proposer r = new RandomProposer(32000, 5)) {
                random = dec.generate(prompt, 24, r);
            }
            assertArrayEquals(expected, oracle.tokens(), p + " oracle");
            assertArrayEquals(expected, random.tokens(), p + " random");
            assertTrue(oracle.tau() > K, p + " oracle tau " + oracle.tau());
            assertTrue(random.tau() < 1.5, p + " random tau " + random.tau());
            assertTrue(oracle.targetForwards() < random.targetForwards());
        }
    }

    @Test
    void anEagleDraftChangesNothingButSpeed() throws Exception {
        SpeculativeDecoder dec = new SpeculativeDecoder(target, AUX, K, Set.of(2L));
        DraftConfig cfg = DraftConfig.forTarget(target.config(), 32000, AUX.length);
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
             DraftParams params = DraftParams.initialise(cfg, Device.cpu(), 3, target.embedWeight(),
                     target.lmHeadWeight(), false)) {
            for (String p : List.of("p0", "p1", "p2")) {
                long[] prompt = golden.readLongs(p + ".input_ids");
                try (Proposer eagle = new EagleProposer(new Eagle3Draft(cfg, params), DraftVocab.identity(32000), m)) {
                    SpeculativeDecoder.Result r = dec.generate(prompt, 40, eagle);
                    assertArrayEquals(greedy(prompt, 40), r.tokens(), p);
                }
            }
        }
    }

    @Test
    void stopsWhereGreedyDecodingStops() {
        long period = 29889;
        SpeculativeDecoder dec = new SpeculativeDecoder(target, AUX, K, Set.of(period));
        long[] prompt = golden.readLongs("p0.input_ids");
        try (Proposer o = new OracleProposer(target, prompt)) {
            long[] out = dec.generate(prompt, 24, o).tokens();
            long[] expected = new Generator(target, Set.of(period))
                    .generate(List.of(Generator.Request.greedy(prompt, 24))).get(0).tokens();
            assertArrayEquals(expected, out);
        }
    }

    @Test
    void plainDecodingOfTheSamePromptsGivesTheSameTokens() {
        Set<Long> stops = Set.of(29889L); // a period: some rows stop early
        SpeculativeDecoder dec = new SpeculativeDecoder(target, AUX, K, stops);
        List<long[]> prompts = List.of(golden.readLongs("p0.input_ids"), golden.readLongs("p1.input_ids"),
                golden.readLongs("p2.input_ids"));
        List<long[]> outputs = new ArrayList<>();
        AcceptanceReport spec = Evaluation.run(dec, prompts, 24, K, p -> new OracleProposer(target, p), outputs);
        Evaluation.Plain plain = Evaluation.plain(new Generator(target, stops), prompts, 24);
        assertEquals(0, plain.mismatches(outputs));
        assertEquals(spec.toJson().get("generated_tokens").asLong(), plain.tokens());
        for (int i = 0; i < prompts.size(); i++) {
            assertArrayEquals(greedy(prompts.get(i), 24, stops), plain.outputs().get(i), "prompt " + i);
        }
        assertTrue(spec.seconds() > 0 && plain.seconds() > 0, "both are timed");
        outputs.set(1, new long[] {1});
        assertEquals(1, plain.mismatches(outputs), "a differing output is counted");
    }
}
