package dev.eaglespark.collective;

/**
 * The rendezvous the ranks already share before any collective exists (Spark's barrier
 * {@code allGather}, or threads of one JVM): every rank passes its message and gets all of them
 * in rank order. Called the same number of times on every rank.
 */
@FunctionalInterface
public interface AllGather {
    String[] allGather(String message);
}
