package dev.eaglespark.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What the free slots of a {@link ContinuousBatcher} hold for prefix reuse, and where admitted
 * requests go. A freed slot keeps the tag of the row that ended there and the tokens it cached;
 * a request with that tag (not null) takes the slot's prefix, the positions its prompt shares
 * with those tokens: in place, or moved down to the lowest free slot (so that running rows stay
 * packed into the lowest slots, as a step computes every slot up to the last running one). Other
 * requests take the lowest free slots that no continuing request of the round holds.
 */
final class SlotPrefixes {
    /** A slot for each job of a round, the prompt positions it keeps, and the prefixes to move first. */
    record Plan(int[] slots, int[] kept, long[] sources, long[] targets, long moved) {}

    private record Held(Object tag, long[] tokens) {}

    private final Held[] held;
    private final boolean on;

    /** @param on whether slots keep prefixes at all */
    SlotPrefixes(int slots, boolean on) {
        this.held = new Held[slots];
        this.on = on;
    }

    /** Slot {@code slot} was freed by a row of {@code tag} whose keys and values cover {@code tokens}. */
    void freed(int slot, Object tag, Supplier<long[]> tokens) {
        if (on) {
            held[slot] = new Held(tag, tokens.get());
        }
    }

    /**
     * Where a free slot's row in a decode step writes its key and value: at its last held position,
     * which {@link #shared} never keeps, or at position 0 when it holds nothing.
     */
    long stepPosition(int slot) {
        return held[slot] == null ? 0 : held[slot].tokens().length - 1;
    }

    /** Slots for {@code jobs} (at most as many as {@code free}, which loses the slots taken). */
    Plan place(List<? extends ContinuousBatcher.Job<?>> jobs, NavigableSet<Integer> free) {
        Map<Integer, Integer> own = new HashMap<>(); // job index -> the slot held for it
        Set<Integer> reserved = new HashSet<>(); // the slots held for jobs not yet placed
        for (int r = 0; r < jobs.size(); r++) {
            Object tag = jobs.get(r).tag();
            for (int s : free) {
                if (on && tag != null && held[s] != null && !reserved.contains(s) && tag.equals(held[s].tag())) {
                    own.put(r, s);
                    reserved.add(s);
                    break;
                }
            }
        }
        int[] slots = new int[jobs.size()];
        int[] kept = new int[jobs.size()];
        List<long[]> moves = new ArrayList<>(); // {from, to}
        long moved = 0;
        for (int r = 0; r < jobs.size(); r++) {
            Integer mine = own.get(r);
            reserved.remove(mine);
            int lowest = free.stream().filter(s -> !reserved.contains(s)).findFirst().orElseThrow();
            int slot = mine == null ? lowest : Math.min(mine, lowest);
            kept[r] = mine == null ? 0 : shared(held[mine].tokens(), jobs.get(r).request().prompt());
            if (kept[r] > 0 && slot != mine) {
                moves.add(new long[] {mine, slot});
                moved = Math.max(moved, kept[r]);
            }
            if (mine != null) {
                held[mine] = null; // used here, or moved out
            }
            free.remove(slot);
            held[slot] = null;
            slots[r] = slot;
        }
        return new Plan(slots, kept, moves.stream().mapToLong(m -> m[0]).toArray(),
                moves.stream().mapToLong(m -> m[1]).toArray(), moved);
    }

    /**
     * The positions of {@code prompt} that {@code cached} holds already: their common prefix, one
     * token short of the whole prompt at most (its last position's logits give the first token),
     * and never the last cached position (a free slot's decode steps write there: {@link #stepPosition}).
     */
    static int shared(long[] cached, long[] prompt) {
        int n = Math.min(cached.length - 1, prompt.length - 1);
        int i = 0;
        while (i < n && cached[i] == prompt[i]) {
            i++;
        }
        return i;
    }
}
