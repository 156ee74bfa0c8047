package dev.eaglespark.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.eaglespark.data.Conversation;
import dev.eaglespark.data.ConversationReader;
import dev.eaglespark.data.Layout;
import dev.eaglespark.data.Message;
import dev.eaglespark.data.RejectCounts;
import dev.eaglespark.data.Role;
import dev.eaglespark.data.TruncationPolicy;
import dev.eaglespark.demo.Stories15M;
import dev.eaglespark.features.SampleSource;
import dev.eaglespark.model.Generator;
import dev.eaglespark.model.TargetModel;
import dev.eaglespark.regen.RegenerateSettings;
import dev.eaglespark.regen.StopTokens;
import dev.eaglespark.testutil.TestData;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The regenerate stage on Spark local mode: stories15M answers the 80 MT-bench questions. */
class RegenerateJobTest {
    @TempDir
    Path tmp;

    @Test
    void answersEveryUserTurnKeepsIdsAndMatchesDirectGreedyDecoding() throws Exception {
        Path model = Stories15M.ensure();
        RegenerateSettings settings = new RegenerateSettings(20, 200, 0, 1, 0, 8);
        String out = tmp.resolve("regen").toString();
        SparkSession spark = SparkSession.builder().master("local[2]").appName("regenerate-test")
                .config("spark.ui.enabled", "false").getOrCreate();
        RegenerateJob.Summary s;
        List<String> input = List.of(TestData.path("mt_bench_questions.jsonl").toString());
        try {
            s = RegenerateJob.run(spark, model.toString(), null, settings, input, out, 3);
            if (ai.djl.engine.Engine.getInstance().getGpuCount() == 0) {
                // --device gpu in local mode: every task asks for a GPU itself, and here there is none.
                Exception e = assertThrows(Exception.class, () -> RegenerateJob.run(spark, model.toString(), null,
                        settings, input, tmp.resolve("regen-gpu").toString(), 3, DeviceChoice.GPU));
                assertTrue(String.valueOf(e.getMessage()).contains("--device gpu, but this executor sees no GPU"),
                        String.valueOf(e.getMessage()));
                assertFalse(Files.exists(tmp.resolve("regen-gpu")), "nothing published by the failed run");
            }
        } finally {
            spark.stop();
        }
        List<Conversation> read = new ArrayList<>();
        RejectCounts bad = new RejectCounts();
        try (var files = Files.list(Path.of(out))) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                try (InputStream in = Files.newInputStream(f)) {
                    new ConversationReader(in, f.toString(), bad).forEachRemaining(read::add);
                }
            }
        }
        assertEquals(0, bad.total(), "the output reads back cleanly");
        long rejected = s.rejects().values().stream().mapToLong(Long::longValue).sum();
        assertEquals(80, read.size() + rejected, "every question answered or rejected with a reason");
        assertTrue(read.size() > 40, read.size() + " answered");
        assertEquals(read.size(), s.conversations());
        long answers = read.stream().mapToLong(c -> c.messages().stream().filter(m -> m.role() == Role.ASSISTANT)
                .count()).sum();
        assertEquals(answers, s.answers());
        assertTrue(s.stopped() <= s.answers(), s.format());

        Map<String, List<String>> questions = new HashMap<>();
        try (InputStream in = Files.newInputStream(TestData.path("mt_bench_questions.jsonl"))) {
            new ConversationReader(in, "mt_bench", new RejectCounts()).forEachRemaining(c ->
                    questions.put(c.id(), c.messages().stream().map(Message::content).toList()));
        }
        for (Conversation c : read) {
            List<Message> m = c.messages();
            assertEquals(Layout.MESSAGES, c.layout(), "MT-bench prompts come back as messages");
            List<String> users = m.stream().filter(x -> x.role() == Role.USER).map(Message::content).toList();
            assertEquals(questions.get(c.id()), users, "user turns kept for " + c.id());
            for (int i = 0; i < m.size(); i++) {
                assertEquals(i % 2 == 0 ? Role.USER : Role.ASSISTANT, m.get(i).role());
            }
            assertFalse(m.get(m.size() - 1).content().isEmpty());
        }

        // The first answer of a record is the target's greedy continuation of its first prompt.
        Conversation first = read.get(0);
        try (TargetModel target = TargetModel.load(model, Device.cpu());
             SampleSource src = new SampleSource(model, null, 200, TruncationPolicy.DROP)) {
            Set<Long> stops = StopTokens.of(model, src.tokenizer());
            int[] prompt = src.encoder().encodePrompt(first.messages().subList(0, 1));
            long[] tokens = new Generator(target, stops).generate(List.of(Generator.Request.greedy(
                    java.util.Arrays.stream(prompt).asLongStream().toArray(), 20))).get(0).tokens();
            int n = tokens.length > 0 && stops.contains(tokens[tokens.length - 1]) ? tokens.length - 1 : tokens.length;
            int[] ids = java.util.Arrays.stream(tokens, 0, n).mapToInt(x -> (int) x).toArray();
            assertEquals(src.tokenizer().decodeText(ids).strip(), first.messages().get(1).content());
        }
    }
}
