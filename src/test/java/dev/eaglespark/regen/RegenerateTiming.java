package dev.eaglespark.regen;

import ai.djl.Device;
import dev.eaglespark.bench.FeaturesBench;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code regenerate}'s own speed without Spark: the {@link Regenerator} each of its tasks runs
 * re-answers the 80 sample conversations (ShareGPT and UltraChat; every user turn, each from the
 * conversation so far), greedy, twice in one JVM; prints the wall time and the batcher's counts
 * (tokens generated, tokens/s, prefill and capture seconds, steps, occupancy). A program, not a
 * test (CI runs no timings). From the repository root:
 * <pre>
 * java -cp target/test-classes:target/classes:$(cat cp.txt) dev.eaglespark.regen.RegenerateTiming [KEY=VALUE...]
 * </pre>
 * Keys (defaults as conf/jobs/demo.conf sets regenerate for stories15M on the CPU): device (cpu;
 * gpu), slots (16; 0: sized from free GPU memory, as regenerate does), copies (1: the 80
 * conversations this many times over), new (96: max new tokens), prompt (200: max prompt tokens),
 * shapes (none: stories15M's own weights; llama3.1-8b or a config.json path: random weights at
 * those shapes, fp16 on a GPU, whose answers run to their limit: a random model never picks its
 * stop token). The tokenizer and chat template are stories15M's (its 32,000 tokens; a random
 * model's larger ids decode to nothing in the answers' text).
 */
public final class RegenerateTiming {
    private RegenerateTiming() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>(Map.of("device", "cpu", "slots", "16", "copies", "1", "new", "96",
                "prompt", "200"));
        for (String a : args) {
            String[] kv = a.split("=", 2);
            if (kv.length != 2 || !opt.containsKey(kv[0]) && !kv[0].equals("shapes")) {
                throw new IllegalArgumentException("expected device=, slots=, copies=, new=, prompt= or shapes=, got " + a);
            }
            opt.put(kv[0], kv[1]);
        }
        List<Conversation> conversations = new ArrayList<>();
        for (int copy = 0; copy < Integer.parseInt(opt.get("copies")); copy++) {
            for (String file : List.of("sharegpt_sample.jsonl", "ultrachat_sample.jsonl")) {
                try (InputStream in = Files.newInputStream(TestData.path(file))) {
                    new ConversationReader(in, file, new RejectCounts()).forEachRemaining(conversations::add);
                }
            }
        }
        Device device = opt.get("device").equals("gpu") ? Device.gpu() : Device.cpu();
        int maxNew = Integer.parseInt(opt.get("new"));
        int maxPrompt = Integer.parseInt(opt.get("prompt"));
        int slots = Integer.parseInt(opt.get("slots"));
        Path tokenizer = Stories15M.ensure();
        try (TargetModel target = target(opt.get("shapes"), tokenizer, device);
             SampleSource source = new SampleSource(tokenizer, null, maxPrompt, TruncationPolicy.DROP)) {
            Set<Long> stops = StopTokens.of(tokenizer, source.tokenizer());
            Regenerator regen = new Regenerator(target, source.encoder(), source.tokenizer(), stops,
                    new RegenerateSettings(maxNew, maxPrompt, 0, 1, 0, slots));
            System.out.printf("regenerate, %s on %s (%s), %,d conversations, up to %d prompt and %d new tokens%n",
                    opt.getOrDefault("shapes", "stories15M"), device, target.dtype(), conversations.size(), maxPrompt,
                    maxNew);
            for (int round = 1; round <= 2; round++) {
                long start = System.nanoTime();
                RejectCounts rejects = new RejectCounts();
                int answered = regen.regenerate(conversations, rejects).size();
                System.out.printf("round %d: %d conversations answered (%s) in %.1f s; %s%n", round, answered, rejects,
                        (System.nanoTime() - start) / 1e9, regen.lastStats().format());
            }
        }
    }

    private static TargetModel target(String shapes, Path stories15M, Device device) throws Exception {
        if (shapes == null) {
            return TargetModel.load(stories15M, device);
        }
        return TargetModel.random(FeaturesBench.shapes(shapes), device, TargetModel.defaultDtype(device));
    }
}
