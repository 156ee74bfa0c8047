package dev.eaglespark.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * The order in which training visits its data, the same for stage-1 features and for
 * conversations read online. The data comes in units (Parquet row groups, input splits) that
 * each epoch puts in an order drawn from (seed, epoch) and deals to the ranks in turn; inside a
 * unit, records go in the order of a hash of (seed, epoch, record id). Keyed by id, that order
 * does not depend on where a record lies in its unit (stage 1 sorts rows by length), so the same
 * records in one unit are visited in the same order online and offline.
 */
final class DataOrder {
    private DataOrder() {}

    /**
     * Rank {@code rank}'s units of {@code epoch}, as numbers into the fixed unit list. With one
     * record per unit, rank r of world W gets the global sequence's records r, r+W, ...: W ranks
     * with one-row micro-batches consume together what one worker consumes with W times the
     * accumulation.
     */
    static List<Integer> units(int count, long seed, int epoch, int rank, int world) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            all.add(i);
        }
        Collections.shuffle(all, new Random(seed * 1_000_003L + epoch));
        List<Integer> order = new ArrayList<>();
        for (int i = rank; i < all.size(); i += world) {
            order.add(all.get(i));
        }
        return order;
    }

    /** The records of one unit in the epoch's order. */
    static <T> List<T> records(List<T> records, Function<T, String> id, long seed, int epoch) {
        List<T> out = new ArrayList<>(records);
        out.sort(Comparator.comparingLong((T r) -> key(id.apply(r), seed, epoch)).thenComparing(id));
        return out;
    }

    /** A 64-bit mix of the id's hash with seed and epoch (SplitMix64's finaliser). */
    private static long key(String id, long seed, int epoch) {
        long z = id.hashCode() * 0x9E3779B97F4A7C15L + seed * 0xBF58476D1CE4E5B9L + epoch * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
