package dev.eaglespark.regen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.eaglespark.data.ChatTokenizer;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetModel;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The story-opening generator on stories15M: its rules, its determinism and its exclusions. */
class StoryOpeningsTest {
    private static TargetModel model;
    private static ChatTokenizer tokenizer;
    private static StoryOpenings openings;

    @BeforeAll
    static void load() throws Exception {
        Path dir = Stories15M.ensure();
        model = TargetModel.load(dir, Device.cpu());
        try (InputStream in = Files.newInputStream(dir.resolve("tokenizer.json"))) {
            tokenizer = ChatTokenizer.read(in);
        }
        openings = new StoryOpenings(new Generator(model, StopTokens.of(dir, tokenizer)), tokenizer,
                model.config().bosTokenId());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        model.close();
    }

    private static StoryOpenings.Settings settings(int count, long seed, int batch) {
        return new StoryOpenings.Settings(count, seed, 1.0, 40, 5, batch, 400);
    }

    private static void assertSentence(String expected, String text, boolean ended) {
        FirstSentence.Result r = FirstSentence.of(text, ended, 5);
        assertNull(r.reject(), text);
        assertEquals(expected, r.sentence(), text);
    }

    private static void assertRejected(OpeningReject expected, String text, boolean ended) {
        assertEquals(expected, FirstSentence.of(text, ended, 5).reject(), text);
    }

    @Test
    void firstSentenceRules() {
        assertSentence("Once upon a time, there was a girl named Lily.",
                " Once upon a time, there was a girl named Lily. She liked to play", false);
        assertSentence("Lily said, \"Let's play with the ball!\"", "Lily said, \"Let's play with the ball!\" Tom ran", false);
        assertSentence("There was a man named Mr. Brown who had a dog.",
                "There was a man named Mr. Brown who had a dog. The dog", false);
        assertSentence("She had 3.5 apples and one big pear.", "She had 3.5 apples and one big pear. Then", false);
        assertSentence("Once upon a time there was a cat.", "Once upon a time there was a cat.", true);
        // cut by the token limit right after the period: a closing quote might have followed
        assertRejected(OpeningReject.NO_SENTENCE_END, "Once upon a time there was a cat.", false);
        assertRejected(OpeningReject.NO_SENTENCE_END, "Once upon a time there was a cat", true);
        assertRejected(OpeningReject.NO_SENTENCE_END, "Once upon a time\nthere was a cat. It", false);
        assertRejected(OpeningReject.TOO_SHORT, "Tom ran away. Then he came back home.", false);
        assertRejected(OpeningReject.UNBALANCED_QUOTES, "Tom said \"look at the big dog. It is huge!\" and", false);
    }

    @Test
    void theSeedAloneDecidesTheOpeningsNotTheBatchSize() {
        StoryOpenings.Result one = openings.generate(settings(6, 11, 1), Set.of());
        for (int batch : new int[] {4, 16}) {
            StoryOpenings.Result other = openings.generate(settings(6, 11, batch), Set.of());
            assertEquals(one.openings(), other.openings(), "batch " + batch);
            assertEquals(one.draws(), other.draws(), "batch " + batch);
            assertEquals(one.rejects(), other.rejects(), "batch " + batch);
        }
        assertEquals(6, one.openings().size());
        assertEquals(6, new HashSet<>(one.openings()).size(), "no duplicates");
        assertEquals(one.draws(), 6 + one.rejects().values().stream().mapToLong(Long::longValue).sum(),
                "every draw is kept or counted as a reject");
        for (String o : one.openings()) {
            assertEquals(o, FirstSentence.of(o, true, 5).sentence(), "an opening is its own first sentence");
        }
        // A longer run starts with the same openings: draws are judged in order.
        assertEquals(one.openings(), openings.generate(settings(9, 11, 16), Set.of()).openings().subList(0, 6));
    }

    @Test
    void anotherSeedDrawsOtherStoriesAndExcludedOpeningsAreNeverKept() {
        List<String> train = openings.generate(settings(6, 12, 8), Set.of()).openings();
        List<String> free = openings.generate(settings(6, 13, 8), Set.of()).openings();
        assertNotEquals(train, free);
        Set<String> excluded = new HashSet<>(train);
        excluded.add(free.get(0));
        StoryOpenings.Result heldOut = openings.generate(settings(6, 13, 8), excluded);
        assertEquals(6, heldOut.openings().size());
        heldOut.openings().forEach(o -> assertFalse(excluded.contains(o), o));
        assertTrue(heldOut.rejects().getOrDefault(OpeningReject.EXCLUDED, 0L) >= 1, heldOut.format());
    }

    @Test
    void storiesEndAtTheStartOfTheNext() throws Exception {
        Set<Long> stops = StopTokens.of(Stories15M.ensure(), tokenizer);
        assertTrue(stops.contains(1L) && stops.contains(2L), "bos and eos stop stories15M: " + stops);
    }
}
