package dev.eaglespark.regen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.Message;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.Role;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.model.ContinuousBatcher;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.TestData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Continuous batching leaves regenerated answers as they are: stories15M re-answers real
 * conversations (the first 5 of the ShareGPT and of the UltraChat sample, most of them
 * multi-turn) with 1, 3 and 8 slots, and every answer of every turn is the same text, greedy and
 * sampled (temperature 0.8, top-p 0.9, each record and turn its own seed), as are the rejects.
 * With fewer slots than turns, slots are taken over by later turns and conversations (checked
 * through the batcher's counts). A next turn keeps the positions its slot holds of the
 * conversation so far (prefix reuse, on by default): the answers are those of whole prefills
 * (8 slots, reuse off). Tokens must match exactly: no tolerance.
 */
class RegeneratorTest {
    private static final int MAX_NEW = 12;
    private static final int MAX_PROMPT = 160;
    private static Path model;
    private static TargetModel target;
    private static SampleSource source;
    private static List<Conversation> conversations;

    @BeforeAll
    static void load() throws IOException {
        model = Stories15M.ensure();
        target = TargetModel.load(model, Device.cpu());
        source = new SampleSource(model, null, MAX_PROMPT, TruncationPolicy.DROP);
        conversations = new ArrayList<>();
        for (String file : List.of("sharegpt_sample.jsonl", "ultrachat_sample.jsonl")) {
            try (InputStream in = Files.newInputStream(TestData.path(file))) {
                ConversationReader reader = new ConversationReader(in, file, new RejectCounts());
                for (int i = 0; i < 5 && reader.hasNext(); i++) {
                    conversations.add(reader.next());
                }
            }
        }
    }

    @AfterAll
    static void close() {
        source.close();
        target.close();
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.8})
    void answersDoNotDependOnTheSlots(double temperature) throws IOException {
        List<String> expected = null;
        for (int slots : new int[] {1, 3, 8, -8}) { // -8: 8 slots, every prompt prefilled whole
            boolean reuse = slots > 0;
            slots = Math.abs(slots);
            System.setProperty("eaglespark.prefix-reuse", Boolean.toString(reuse));
            RegenerateSettings settings = new RegenerateSettings(MAX_NEW, MAX_PROMPT, temperature,
                    temperature == 0 ? 1.0 : 0.9, 5, slots);
            Regenerator regen = new Regenerator(target, source.encoder(), source.tokenizer(),
                    StopTokens.of(model, source.tokenizer()), settings);
            RejectCounts rejects = new RejectCounts();
            List<Conversation> out;
            try {
                out = regen.regenerate(conversations, rejects);
            } finally {
                System.clearProperty("eaglespark.prefix-reuse");
            }
            List<String> got = new ArrayList<>();
            long answers = 0;
            for (Conversation c : out) {
                got.add(c.id() + ": " + c.messages().stream().map(m -> m.role() + "> " + m.content()).toList());
                answers += c.messages().stream().map(Message::role).filter(r -> r == Role.ASSISTANT).count();
            }
            got.add("rejects " + rejects);
            assertTrue(answers > out.size() && out.size() >= 5, out.size() + " conversations answered, " + answers
                    + " answers: several multi-turn");
            ContinuousBatcher.Stats stats = regen.lastStats();
            assertTrue(stats.generated() >= answers, stats.format());
            if (slots < answers) {
                assertTrue(stats.prefills() > 1, "slots taken over: " + stats.format());
            }
            assertEquals(reuse, stats.reused() > stats.prefilled() / 4, "next turns keep their prefix: " + stats.format());
            assertTrue(stats.stopped() <= answers, stats.format());
            got.add(stats.stopped() + " answers ended at a stop token");
            if (expected == null) {
                expected = got;
            } else {
                assertEquals(expected, got, slots + " slots" + (reuse ? "" : ", whole prefills,") + " against 1");
            }
        }
    }
}
