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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code eaglespark prompts}: story openings a story model writes itself, as prompt-only JSON lines. */
@CommandLine.Command(name = "prompts",
        header = "story openings the target writes itself, as prompts for regenerate and evaluate",
        customSynopsis = "usage: eaglespark prompts --model DIR --count N --seed S --output FILE [options]",
        description = """
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
                different seed with --exclude of the training prompts.""")
public final class PromptsCommand implements Command {
    @Option(names = "--model", paramLabel = "DIR", required = true, converter = PathKind.LocalModel.class,
            description = "the story model (or 'stories15M'); it needs a bos_token_id")
    String model;

    @Option(names = "--count", paramLabel = "N", required = true, description = "openings to keep")
    @Range(min = 1)
    int count;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "seed of the draws (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--output", paramLabel = "FILE", required = true, converter = PathKind.LocalPath.class,
            description = "JSON lines (a local file, replaced)")
    String output;

    @Option(names = "--exclude", paramLabel = "FILE", converter = PathKind.LocalPath.class,
            description = "conversation JSONL whose user turns are not kept; repeatable")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0",
            description = "sampling temperature (default ${DEFAULT-VALUE})")
    @Range(min = 0)
    double temperature;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "40",
            description = "tokens sampled per draw (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxTokens;

    @Option(names = "--min-words", paramLabel = "N", defaultValue = "5",
            description = "shortest opening, in words (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int minWords;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "64",
            description = "draws generated together (default ${DEFAULT-VALUE})")
    @Range(min = 1)
    int batchSize;

    @Option(names = "--max-draws", paramLabel = "N", description = "give up after N draws (default 20 x count)")
    @Range(min = 1)
    Long maxDraws;

    @Option(names = "--device", paramLabel = "D", defaultValue = "cpu", description = "cpu (default) or gpu")
    Device device;

    @Override
    public int run() throws Exception {
        Path modelDir = Paths.get(ModelArg.resolve(model));
        Path output = Paths.get(this.output);
        StoryOpenings.Settings s;
        try {
            s = new StoryOpenings.Settings(count, seed, temperature, maxTokens, minWords, batchSize,
                    maxDraws != null ? maxDraws : 20L * count);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Set<String> excluded = new HashSet<>();
        for (String file : exclude) {
            excluded.addAll(userTurns(Paths.get(file)));
        }
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
        List<String> turns = new ArrayList<>();
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
