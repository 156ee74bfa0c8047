package dev.eaglespark.regen;

import ai.djl.Device;
import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.testutil.TestData;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code regenerate}'s own speed without Spark: stories15M on the CPU re-answers the 80 sample
 * conversations (ShareGPT and UltraChat) as conf/jobs/demo.conf sets it (96 new tokens, prompts
 * up to 200 tokens, greedy), with N slots (default 16), twice in one JVM; prints the wall time and
 * the batcher's counts (tokens generated, tokens/s, steps, occupancy). A program, not a test (CI
 * runs no timings); from the repository root:
 * java -cp target/test-classes:target/classes:$(cat cp.txt) dev.eaglespark.regen.RegenerateTiming [N]
 */
public final class RegenerateTiming {
    private RegenerateTiming() {}

    public static void main(String[] args) throws Exception {
        int slots = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        List<Conversation> conversations = new ArrayList<>();
        for (String file : List.of("sharegpt_sample.jsonl", "ultrachat_sample.jsonl")) {
            try (InputStream in = Files.newInputStream(TestData.path(file))) {
                new ConversationReader(in, file, new RejectCounts()).forEachRemaining(conversations::add);
            }
        }
        Path model = Stories15M.ensure();
        try (TargetModel target = TargetModel.load(model, Device.cpu());
             SampleSource source = new SampleSource(model, null, 200, TruncationPolicy.DROP)) {
            Set<Long> stops = StopTokens.of(model, source.tokenizer());
            Regenerator regen = new Regenerator(target, source.encoder(), source.tokenizer(), stops,
                    new RegenerateSettings(96, 200, 0, 1, 0, slots));
            for (int round = 1; round <= 2; round++) {
                long start = System.nanoTime();
                RejectCounts rejects = new RejectCounts();
                int answered = regen.regenerate(conversations, rejects).size();
                System.out.printf("round %d, %d slots: %d conversations answered (%s) in %.1f s; %s%n", round, slots,
                        answered, rejects, (System.nanoTime() - start) / 1e9, regen.lastStats().format());
            }
        }
    }
}
