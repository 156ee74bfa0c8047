package dev.eaglespark.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eaglespark.data.ChatTokenizer;
import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.Message;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.Role;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.regen.StopTokens;
import dev.eaglespark.regen.StoryOpenings;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code eaglespark prompts}: story openings a story model writes itself, as prompt-only JSON lines. */
public final class PromptsCommand implements LegacyCommand {
    private static final Map<String, Boolean> OPTIONS = Map.ofEntries(Map.entry("model", true),
            Map.entry("count", true), Map.entry("seed", true), Map.entry("output", true), Map.entry("exclude", true),
            Map.entry("temperature", true), Map.entry("max-tokens", true), Map.entry("min-words", true),
            Map.entry("batch-size", true), Map.entry("max-draws", true), Map.entry("device", true));

    @Override
    public Map<String, Boolean> options() {
        return OPTIONS;
    }

    @Override
    public Map<String, PathKind> paths() {
        return Map.of("model", PathKind.LOCAL, "output", PathKind.LOCAL, "exclude", PathKind.LOCAL);
    }

    @Override
    public Set<String> listOptions() {
        return Set.of("exclude");
    }

    @Override
    public String name() {
        return "prompts";
    }

    @Override
    public String summary() {
        return "story openings the target writes itself, as prompts for regenerate and evaluate";
    }

    @Override
    public String help() {
        return """
                usage: eaglespark prompts --model DIR --count N --seed S --output FILE [options]

                Prompts for a story model (the stories15M demo) written by the model itself: draw i
                samples a story from the start-of-text token at --temperature (nucleus 1) with a
                stream seeded from S and i, and keeps its first sentence. A sentence ends at the first
                '.', '!' or '?' followed (after closing quotes) by whitespace or by the story's end; a
                '.' after Mr, Mrs, Ms, Dr or St does not end one. Rejected, counted and not kept: no
                sentence end before a line break or within --max-tokens tokens (no_sentence_end),
                fewer than --min-words words (too_short), an odd number of double quotes
                (unbalanced_quotes), an opening kept earlier (duplicate) or found among the user
                turns of an --exclude file (excluded). Draws are judged in order until N are kept,
                so the file depends on S, not on --batch-size. Spark-free; runs where it is started.

                Output: one JSON line per opening, {"id": "opening-S-NNNNN", "turns": ["..."]}, the
                prompt-only layout that regenerate answers and evaluate reads. Held-out prompts: a
                different seed with --exclude of the training prompts.

                options:
                  --model DIR          the story model (or 'stories15M'); it needs a bos_token_id
                  --count N            openings to keep
                  --seed S             seed of the draws (default 0)
                  --output FILE        JSON lines (a local file, replaced)
                  --exclude FILE       conversation JSONL whose user turns are not kept; repeatable
                  --temperature T      sampling temperature (default 1.0)
                  --max-tokens N       tokens sampled per draw (default 40)
                  --min-words N        shortest opening, in words (default 5)
                  --batch-size N       draws generated together (default 64)
                  --max-draws N        give up after N draws (default 20 x count)
                  --device D           cpu (default) or gpu
                """;
    }

    @Override
    public int run(Args a) throws Exception {
        Path modelDir = Paths.get(ModelArg.resolve(a.required("model")));
        Path output = Paths.get(a.required("output"));
        int count = a.getInt("count", 0);
        StoryOpenings.Settings s;
        try {
            s = new StoryOpenings.Settings(count, Long.parseLong(a.get("seed", "0")),
                    Double.parseDouble(a.get("temperature", "1.0")), a.getInt("max-tokens", 40),
                    a.getInt("min-words", 5), a.getInt("batch-size", 64),
                    Long.parseLong(a.get("max-draws", String.valueOf(20L * count))));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Set<String> excluded = new HashSet<>();
        for (String file : a.all("exclude")) {
            excluded.addAll(userTurns(Paths.get(file)));
        }
        Device device = a.get("device", "cpu", ValueTypes::device);
        long start = System.nanoTime();
        StoryOpenings.Result result;
        try (TargetModel model = TargetModel.load(modelDir, device);
             InputStream tok = Files.newInputStream(modelDir.resolve("tokenizer.json"));
             ChatTokenizer tokenizer = ChatTokenizer.read(tok)) {
            int bos = model.config().bosTokenId();
            if (bos < 0) {
                throw new UsageException("the model in " + modelDir + " has no bos_token_id to start a story from");
            }
            Generator generator = new Generator(model, StopTokens.of(modelDir, tokenizer));
            result = new StoryOpenings(generator, tokenizer, bos).generate(s, excluded);
        }
        write(result.openings(), s.seed(), output);
        System.out.printf("prompts: %s in %.1f s (seed %d) -> %s%n", result.format(),
                (System.nanoTime() - start) / 1e9, s.seed(), output);
        return 0;
    }

    /** The user turns of a conversation file, stripped, as the openings are compared. */
    private static List<String> userTurns(Path file) throws IOException {
        RejectCounts unreadable = new RejectCounts();
        List<String> turns = new java.util.ArrayList<>();
        try (InputStream in = Files.newInputStream(file)) {
            ConversationReader reader = new ConversationReader(in, file.toString(), unreadable);
            while (reader.hasNext()) {
                Conversation c = reader.next();
                for (Message m : c.messages()) {
                    if (m.role() == Role.USER) {
                        turns.add(m.content().strip());
                    }
                }
            }
        }
        if (unreadable.total() > 0) {
            throw new IOException("--exclude " + file + ": " + unreadable + " (every line must be a conversation)");
        }
        return turns;
    }

    private static void write(List<String> openings, long seed, Path output) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Path parent = output.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempFile(parent, output.getFileName().toString(), ".tmp");
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            for (int i = 0; i < openings.size(); i++) {
                var rec = json.createObjectNode().put("id", String.format("opening-%d-%05d", seed, i));
                rec.putArray("turns").add(openings.get(i));
                w.write(json.writeValueAsString(rec));
                w.write('\n');
            }
        }
        Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
