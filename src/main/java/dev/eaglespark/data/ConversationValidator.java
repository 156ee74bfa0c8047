package dev.eaglespark.data;

import java.util.List;

/**
 * The turn structure a training sample needs: an optional system turn first, then user and
 * assistant alternating from a user turn, at least one of each, and no empty turn.
 */
final class ConversationValidator {
    private ConversationValidator() {}

    static void validate(Conversation c) throws RejectedException {
        List<Message> ms = c.messages();
        if (ms.isEmpty()) {
            throw new RejectedException(RejectReason.EMPTY_CONVERSATION, "no turns");
        }
        boolean user = false;
        boolean assistant = false;
        int first = ms.get(0).role() == Role.SYSTEM ? 1 : 0;
        for (int i = 0; i < ms.size(); i++) {
            Message m = ms.get(i);
            if (m.content().isBlank() && !(i == 0 && m.role() == Role.SYSTEM)) {
                throw new RejectedException(RejectReason.EMPTY_TURN, "turn " + i + " (" + m.role().wireName() + ") is empty");
            }
            user |= m.role() == Role.USER;
            assistant |= m.role() == Role.ASSISTANT;
        }
        if (!user || !assistant) {
            throw new RejectedException(RejectReason.ONE_SIDED, "only " + (user ? "user" : assistant ? "assistant" : "system")
                    + " turns");
        }
        for (int i = first; i < ms.size(); i++) {
            Role expected = (i - first) % 2 == 0 ? Role.USER : Role.ASSISTANT;
            if (ms.get(i).role() != expected) {
                throw new RejectedException(RejectReason.NON_ALTERNATING, "turn " + i + " is " + ms.get(i).role().wireName()
                        + ", expected " + expected.wireName());
            }
        }
    }
}
