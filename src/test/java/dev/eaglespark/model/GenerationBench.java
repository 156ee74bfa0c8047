package dev.eaglespark.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Time of a long KV-cached generation on the CPU, where the cache's own copying shows: the
 * tiny-llama3 fixture's config widened to 8 KV heads of 32 (12 KB of cached keys and values per
 * position and sequence), random weights, 4 prompts of 16 tokens, 1,500 greedy tokens each.
 * A program, not a test (CI runs no timings); from the repository root:
 * java -cp target/test-classes:target/classes:$(cat cp.txt) dev.eaglespark.model.GenerationBench
 * (cp.txt from mvn dependency:build-classpath -Dmdep.outputFile=cp.txt).
 */
public final class GenerationBench {
    private GenerationBench() {}

    public static void main(String[] args) throws Exception {
        ObjectNode json = (ObjectNode) new ObjectMapper()
                .readTree(Files.readString(Path.of("src/test/resources/fixtures/tiny-llama3/config.json")));
        json.put("hidden_size", 256).put("head_dim", 32).put("num_attention_heads", 8).put("num_key_value_heads", 8)
                .put("intermediate_size", 512).put("num_hidden_layers", 4);
        TargetConfig cfg = TargetConfig.parse(json, "tiny-llama3, widened");
        int tokens = args.length > 0 ? Integer.parseInt(args[0]) : 1500;
        try (TargetModel model = TargetModel.random(cfg, Device.cpu(), DataType.FLOAT32)) {
            Generator gen = new Generator(model, Set.of());
            for (int round = 1; round <= 4; round++) {
                List<Generator.Request> batch = new ArrayList<>();
                for (int r = 0; r < 4; r++) {
                    long[] prompt = new long[16];
                    for (int i = 0; i < prompt.length; i++) {
                        prompt[i] = (r * 31 + i * 7) % cfg.vocabSize();
                    }
                    batch.add(Generator.Request.greedy(prompt, tokens));
                }
                long start = System.nanoTime();
                gen.generate(batch);
                double s = (System.nanoTime() - start) / 1e9;
                System.out.printf("round %d: 4 x %d tokens in %.1f s, %.2f ms per step%n", round, tokens, s,
                        s * 1e3 / tokens);
            }
        }
    }
}
