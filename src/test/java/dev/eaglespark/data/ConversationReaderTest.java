package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

class ConversationReaderTest {
    static List<Conversation> readAll(InputStream in, String source, RejectSink rejects) throws IOException {
        List<Conversation> out = new ArrayList<>();
        new ConversationReader(in, source, rejects).forEachRemaining(out::add);
        return out;
    }

    static byte[] resource(String path) throws IOException {
        try (InputStream in = ConversationReaderTest.class.getResourceAsStream(path)) {
            return in.readAllBytes();
        }
    }

    @Test
    void readsShareGpt() throws IOException {
        RejectCounts rejects = new RejectCounts();
        List<Conversation> cs = readAll(new ByteArrayInputStream(resource("/data/sharegpt_sample.jsonl")),
                "sharegpt_sample.jsonl", rejects);
        assertEquals(40, cs.size());
        assertEquals(0, rejects.total());
        Conversation first = cs.get(0);
        assertEquals("mt_bench-101", first.id());
        assertEquals(List.of(Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT),
                first.messages().stream().map(Message::role).toList());
        assertTrue(first.messages().get(0).content().startsWith("Imagine you are participating in a race"));
        assertEquals(1, first.line());
    }

    @Test
    void readsUltraChatHfLayoutWithPromptIds() throws IOException {
        RejectCounts rejects = new RejectCounts();
        List<Conversation> cs = readAll(new ByteArrayInputStream(resource("/data/ultrachat_sample.jsonl")),
                "ultrachat_sample.jsonl", rejects);
        assertEquals(40, cs.size());
        assertEquals(0, rejects.total());
        assertEquals("mt_bench-101", cs.get(0).id());
        // Same conversations as the ShareGPT sample, in another layout.
        List<Conversation> share = readAll(new ByteArrayInputStream(resource("/data/sharegpt_sample.jsonl")),
                "sharegpt_sample.jsonl", rejects);
        for (int i = 0; i < cs.size(); i++) {
            assertEquals(share.get(i).messages(), cs.get(i).messages());
        }
    }

    @Test
    void readsMtBenchQuestionsAsUserTurns() throws IOException {
        List<Conversation> cs = readAll(new ByteArrayInputStream(resource("/data/mt_bench_questions.jsonl")),
                "mt_bench_questions.jsonl", r -> { throw new AssertionError(r.toString()); });
        assertEquals(80, cs.size());
        assertEquals("81", cs.get(0).id());
        assertTrue(cs.stream().allMatch(c -> c.messages().stream().allMatch(m -> m.role() == Role.USER)));
    }

    @Test
    void readsUltraChatOriginalAndOpenAiLayoutsAndMakesStableIds() throws IOException {
        String jsonl = """
                {"data": ["Hi", "Hello!", "Bye", "Goodbye."]}
                {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Q?"}]}, {"role": "assistant", "content": "A."}]}
                """;
        List<Conversation> cs = readAll(new ByteArrayInputStream(jsonl.getBytes(StandardCharsets.UTF_8)),
                "hdfs://x/train/part-0.jsonl", r -> { throw new AssertionError(r.toString()); });
        assertEquals("part-0.jsonl:1", cs.get(0).id());
        assertEquals(List.of(new Message(Role.USER, "Hi"), new Message(Role.ASSISTANT, "Hello!"),
                new Message(Role.USER, "Bye"), new Message(Role.ASSISTANT, "Goodbye.")), cs.get(0).messages());
        assertEquals("part-0.jsonl:2", cs.get(1).id());
        assertEquals(new Message(Role.USER, "Q?"), cs.get(1).messages().get(1));
    }

    @Test
    void readsGzipAndZstd() throws IOException {
        byte[] plain = resource("/data/sharegpt_sample.jsonl");
        for (String name : List.of("sample.jsonl.gz", "sample.jsonl.zst")) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (OutputStream out = name.endsWith(".gz") ? new GZIPOutputStream(bytes) : new ZstdOutputStream(bytes)) {
                out.write(plain);
            }
            RejectCounts rejects = new RejectCounts();
            List<Conversation> cs = readAll(new ByteArrayInputStream(bytes.toByteArray()), name, rejects);
            assertEquals(40, cs.size(), name);
            assertEquals(0, rejects.total(), name);
        }
    }
}
