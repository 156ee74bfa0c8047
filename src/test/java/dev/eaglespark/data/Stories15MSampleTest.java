package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** stories15M has no chat template: the bundled default one must still give sane masks. */
class Stories15MSampleTest {
    private static final int BOS = 1;
    private static final int EOS = 2;

    @Test
    void shareGptSampleGetsAssistantOnlyMasks() throws IOException {
        List<Conversation> conversations;
        try (InputStream in = getClass().getResourceAsStream("/data/sharegpt_sample.jsonl")) {
            conversations = ConversationReaderTest.readAll(in, "sharegpt_sample.jsonl", r -> { throw new AssertionError(r.toString()); });
        }
        RejectCounts rejects = new RejectCounts();
        List<TokenizedSample> samples = new ArrayList<>();
        try (ChatTokenizer tok = Stories15M.tokenizer()) {
            SampleEncoder encoder = new SampleEncoder(Stories15M.defaultTemplate(), tok, 8192, TruncationPolicy.TRUNCATE);
            new TrainingSamples(conversations.iterator(), encoder, rejects).forEachRemaining(samples::add);
            assertEquals(0, rejects.total(), rejects.toString());
            assertEquals(conversations.size(), samples.size());
            for (int i = 0; i < samples.size(); i++) {
                TokenizedSample s = samples.get(i);
                Conversation c = conversations.get(i);
                assertEquals(c.id(), s.id());
                assertEquals(BOS, s.inputIds()[0], "the template's BOS, once");
                assertEquals(1, java.util.Arrays.stream(s.inputIds()).filter(id -> id == BOS).count());
                List<String> replies = c.messages().stream().filter(m -> m.role() == Role.ASSISTANT)
                        .map(m -> m.content().strip()).toList();
                List<int[]> runs = runs(s);
                assertEquals(replies.size(), runs.size(), c.id());
                for (int k = 0; k < runs.size(); k++) {
                    int[] run = runs.get(k);
                    assertEquals(EOS, run[run.length - 1], "each masked run ends with </s>");
                    String decoded = tok.decode(java.util.Arrays.copyOf(run, run.length - 1));
                    assertEquals(replies.get(k), decoded.strip(), c.id() + " reply " + k);
                }
                assertTrue(s.maskedTokens() < s.length());
            }
        }
    }

    /** The ids of each run of consecutive masked tokens. */
    private static List<int[]> runs(TokenizedSample s) {
        List<int[]> runs = new ArrayList<>();
        int t = 0;
        while (t < s.length()) {
            if (s.lossMask()[t] == 0) {
                t++;
                continue;
            }
            int start = t;
            while (t < s.length() && s.lossMask()[t] == 1) {
                t++;
            }
            runs.add(java.util.Arrays.copyOfRange(s.inputIds(), start, t));
        }
        return runs;
    }
}
