package dev.eaglespark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

class ChatTemplateGoldenTest {
    private static final GoldenTemplates GOLDEN = GoldenTemplates.load();

    @TestFactory
    Stream<DynamicTest> rendersMatchTransformersByteForByte() {
        return GOLDEN.renders.stream().map(r -> DynamicTest.dynamicTest(r.template() + "/" + r.conversation(), () -> {
            ChatTemplate template = GOLDEN.template(r.template());
            List<Message> messages = GOLDEN.conversations.get(r.conversation());
            assertEquals(r.text(), template.render(messages, false), "text");
            assertEquals(r.generationPromptText(), template.render(GoldenTemplates.upToLastUser(messages), true),
                    "generation_prompt_text");
        }));
    }
}
