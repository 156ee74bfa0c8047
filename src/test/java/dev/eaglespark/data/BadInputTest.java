package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every kind of bad record, mixed with good ones: all good ones come out, every bad one is reported. */
class BadInputTest {
    private static final String GOOD_1 = "{\"id\": \"good-1\", \"conversations\": [{\"from\": \"human\", \"value\": \"Hi\"}, {\"from\": \"gpt\", \"value\": \"Hello!\"}]}";
    private static final String GOOD_2 = "{\"prompt_id\": \"good-2\", \"messages\": [{\"role\": \"user\", \"content\": \"Q?\"}, {\"role\": \"assistant\", \"content\": \"A.\"}]}";
    private static final String GOOD_3 = "{\"data\": [\"Tell me <|eot_id|> and </s>\", \"Literally </s> and {{ 7*7 }}.\"]}";

    @Test
    void everyGoodRecordComesOutAndEveryBadOneIsRejectedWithItsReason() throws IOException {
        // line -> expected reason (null = good)
        Map<Integer, RejectReason> expected = new LinkedHashMap<>();
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        List<Object> lines = new ArrayList<>(List.of(
                GOOD_1,
                "{\"id\": \"broken\", \"conversations\": [",                                                   // malformed
                bytes("{\"id\": \"bad-utf8\", \"data\": [\"caf", new byte[] {(byte) 0xC3, (byte) 0x28}, "\", \"x\"]}"),
                "{\"id\": \"huge\", \"data\": [\"" + "x".repeat(5000) + "\", \"y\"]}",                      // over the line limit
                "{\"id\": \"wrong-type\", \"conversations\": \"not a list\"}",
                "{\"id\": \"value-type\", \"conversations\": [{\"from\": \"human\", \"value\": 42}]}",
                "[1, 2, 3]",
                "{\"id\": \"no-layout\", \"text\": \"hello\"}",
                "",                                                                                              // blank: not a record
                GOOD_2,
                "{\"id\": \"empty\", \"conversations\": []}",
                "{\"id\": \"user-only\", \"conversations\": [{\"from\": \"human\", \"value\": \"Anyone?\"}]}",
                "{\"id\": \"gpt-only\", \"conversations\": [{\"from\": \"gpt\", \"value\": \"Hi.\"}]}",
                "{\"id\": \"narrator\", \"conversations\": [{\"from\": \"narrator\", \"value\": \"Once\"}, {\"from\": \"gpt\", \"value\": \"x\"}]}",
                "{\"id\": \"two-users\", \"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, {\"from\": \"human\", \"value\": \"b\"}, {\"from\": \"gpt\", \"value\": \"c\"}]}",
                "{\"id\": \"gpt-first\", \"conversations\": [{\"from\": \"gpt\", \"value\": \"a\"}, {\"from\": \"human\", \"value\": \"b\"}]}",
                "{\"id\": \"blank-turn\", \"conversations\": [{\"from\": \"human\", \"value\": \"a\"}, {\"from\": \"gpt\", \"value\": \"  \"}]}",
                "{\"id\": \"long-prompt\", \"conversations\": [{\"from\": \"human\", \"value\": \"" + "tell me a story ".repeat(60)
                        + "\"}, {\"from\": \"gpt\", \"value\": \"No.\"}]}",
                GOOD_3));
        RejectReason[] reasons = {null, RejectReason.MALFORMED_JSON, RejectReason.INVALID_UTF8, RejectReason.RECORD_TOO_LARGE,
            RejectReason.WRONG_TYPE, RejectReason.WRONG_TYPE, RejectReason.WRONG_TYPE, RejectReason.WRONG_TYPE, null, null,
            RejectReason.EMPTY_CONVERSATION, RejectReason.ONE_SIDED, RejectReason.ONE_SIDED, RejectReason.UNKNOWN_ROLE,
            RejectReason.NON_ALTERNATING, RejectReason.NON_ALTERNATING, RejectReason.EMPTY_TURN,
            RejectReason.NO_ASSISTANT_TOKENS, null};
        for (int i = 0; i < lines.size(); i++) {
            Object l = lines.get(i);
            file.write(l instanceof byte[] b ? b : ((String) l).getBytes(StandardCharsets.UTF_8));
            file.write('\n');
            if (reasons[i] != null) {
                expected.put(i + 1, reasons[i]);
            }
        }

        StringWriter rejectsFile = new StringWriter();
        RejectCounts counts = new RejectCounts();
        List<TokenizedSample> samples = new ArrayList<>();
        try (ChatTokenizer tok = Stories15M.tokenizer();
             JsonlRejectWriter writer = new JsonlRejectWriter(rejectsFile)) {
            RejectSink rejects = RejectSink.both(writer, counts);
            ConversationReader reader = new ConversationReader(new ByteArrayInputStream(file.toByteArray()),
                    "mixed.jsonl", rejects, 4096);
            SampleEncoder encoder = new SampleEncoder(Stories15M.defaultTemplate(), tok, 128, TruncationPolicy.TRUNCATE);
            new TrainingSamples(reader, encoder, rejects).forEachRemaining(samples::add);

            assertEquals(List.of("good-1", "good-2", "mixed.jsonl:19"), samples.stream().map(TokenizedSample::id).toList());
            // Special-token text in content stays text: the only </s> ids are the template's, one per reply.
            assertEquals(1, java.util.Arrays.stream(samples.get(2).inputIds()).filter(id -> id == 2).count());
        }

        ObjectMapper json = new ObjectMapper();
        Map<Integer, RejectReason> got = new LinkedHashMap<>();
        for (String line : rejectsFile.toString().split("\n")) {
            JsonNode r = json.readTree(line);
            assertEquals("mixed.jsonl", r.get("source").asText());
            assertTrue(r.get("message").asText().length() > 0, line);
            assertTrue(r.get("id").asText().length() > 0, line);
            got.put(r.get("line").asInt(), RejectReason.valueOf(r.get("reason").asText().toUpperCase(java.util.Locale.ROOT)));
        }
        assertEquals(expected, got);
        assertEquals(expected.size(), counts.total());
        assertEquals(4, counts.get(RejectReason.WRONG_TYPE));
        assertEquals(2, counts.get(RejectReason.ONE_SIDED));
    }

    @Test
    void overLongConversationsAreTruncatedOrDropped() throws Exception {
        Conversation c = new Conversation("long", List.of(new Message(Role.USER, "Hi"),
                new Message(Role.ASSISTANT, "word ".repeat(300))), "x.jsonl", 1);
        try (ChatTokenizer tok = Stories15M.tokenizer()) {
            TokenizedSample cut = new SampleEncoder(Stories15M.defaultTemplate(), tok, 64, TruncationPolicy.TRUNCATE).encode(c);
            assertEquals(64, cut.length());
            assertTrue(cut.maskedTokens() > 0);
            RejectCounts counts = new RejectCounts();
            List<TokenizedSample> out = new ArrayList<>();
            new TrainingSamples(List.of(c).iterator(),
                    new SampleEncoder(Stories15M.defaultTemplate(), tok, 64, TruncationPolicy.DROP), counts)
                    .forEachRemaining(out::add);
            assertTrue(out.isEmpty());
            assertEquals(1, counts.get(RejectReason.TOO_LONG));
        }
    }

    private static byte[] bytes(String a, byte[] mid, String b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(a.getBytes(StandardCharsets.UTF_8));
        out.writeBytes(mid);
        out.writeBytes(b.getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }
}
