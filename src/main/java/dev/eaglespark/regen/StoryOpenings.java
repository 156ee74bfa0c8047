package dev.eaglespark.regen;

import dev.eaglespark.data.ChatTokenizer;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.Sampling;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Prompts a story model writes itself: stories sampled from the start-of-text token (nucleus 1,
 * at a temperature), of which the first sentence ({@link FirstSentence}) is kept. Draw i samples
 * with its own stream, seeded from the seed and i; draws are judged in order of i and the
 * generation stops at the count-th kept opening, so the openings depend on the seed and not on
 * the batch size (each row of the KV-cached generation is computed independently of its batch).
 * An opening already kept, or found in the excluded set, is not kept again.
 */
public final class StoryOpenings {
    /**
     * @param count openings to keep
     * @param seed the draws' seed
     * @param temperature sampling temperature (1: the model's own distribution)
     * @param maxTokens tokens sampled per draw; a first sentence must end within them
     * @param minWords shortest opening kept, in words
     * @param batchSize draws generated together
     * @param maxDraws draws after which the generation gives up
     */
    public record Settings(int count, long seed, double temperature, int maxTokens, int minWords, int batchSize,
                           long maxDraws) {
        public Settings {
            if (count < 1 || maxTokens < 1 || minWords < 1 || batchSize < 1 || maxDraws < count) {
                throw new IllegalArgumentException("count, max tokens, min words and batch size must be >= 1 and"
                        + " max draws >= count, got " + count + ", " + maxTokens + ", " + minWords + ", " + batchSize
                        + ", " + maxDraws);
            }
            new Sampling(temperature, 1.0); // checks the temperature
        }
    }

    /** The openings kept, in order, and what the draws gave. */
    public record Result(List<String> openings, long draws, long sampledTokens, Map<OpeningReject, Long> rejects) {
        public String format() {
            StringBuilder sb = new StringBuilder(String.format("%,d openings kept of %,d draws (%,d tokens sampled)",
                    openings.size(), draws, sampledTokens));
            long rejected = rejects.values().stream().mapToLong(Long::longValue).sum();
            sb.append(String.format("; %,d rejected", rejected));
            rejects.forEach((r, n) -> sb.append(String.format(", %s %,d", r.code(), n)));
            return sb.toString();
        }
    }

    private final Generator generator;
    private final ChatTokenizer tokenizer;
    private final long startToken;

    /**
     * @param generator the model, with its stop tokens (the story ends there)
     * @param startToken the token a story starts after (the model's start-of-text)
     */
    public StoryOpenings(Generator generator, ChatTokenizer tokenizer, long startToken) {
        this.generator = generator;
        this.tokenizer = tokenizer;
        this.startToken = startToken;
    }

    public Result generate(Settings s, Set<String> excluded) {
        List<String> kept = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        Map<OpeningReject, Long> rejects = new EnumMap<>(OpeningReject.class);
        Sampling sampling = new Sampling(s.temperature(), 1.0);
        long base = new SplittableRandom(s.seed()).nextLong();
        long draw = 0;
        long tokens = 0;
        while (kept.size() < s.count()) {
            if (draw >= s.maxDraws()) {
                throw new IllegalStateException(String.format("only %d of %d openings after %d draws (%s): raise the"
                        + " draw limit or loosen the rules", kept.size(), s.count(), draw, rejects));
            }
            int n = (int) Math.min(s.batchSize(), s.maxDraws() - draw);
            List<Generator.Request> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                batch.add(new Generator.Request(new long[] {startToken}, s.maxTokens(), sampling, base + draw + i));
            }
            List<Generator.Result> results = generator.generate(batch);
            for (int i = 0; i < n && kept.size() < s.count(); i++) {
                Generator.Result r = results.get(i);
                draw++;
                tokens += r.tokens().length;
                FirstSentence.Result first = FirstSentence.of(text(r), r.stopped(), s.minWords());
                OpeningReject why = first.reject() != null ? first.reject()
                        : excluded.contains(first.sentence()) ? OpeningReject.EXCLUDED
                        : !seen.add(first.sentence()) ? OpeningReject.DUPLICATE : null;
                if (why == null) {
                    kept.add(first.sentence());
                } else {
                    rejects.merge(why, 1L, Long::sum);
                }
            }
        }
        return new Result(kept, draw, tokens, rejects);
    }

    /** The sampled text without the token that ended the story. */
    private String text(Generator.Result r) {
        long[] t = r.tokens();
        int n = r.stopped() ? t.length - 1 : t.length;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) t[i];
        }
        return tokenizer.decodeText(ids);
    }
}
