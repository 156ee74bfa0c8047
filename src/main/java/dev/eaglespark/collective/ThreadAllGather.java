package dev.eaglespark.collective;

import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@link AllGather} for ranks that are threads of one JVM (benchmarks, tests): rank r calls
 * {@link #forRank}(r)'s allGather; everyone's messages are read once all have written and copied
 * before anyone writes the next round's.
 */
public final class ThreadAllGather {
    private final String[] messages;
    private final CyclicBarrier written;
    private final CyclicBarrier read;
    private final long timeoutSeconds;

    public ThreadAllGather(int ranks, long timeoutSeconds) {
        this.messages = new String[ranks];
        this.written = new CyclicBarrier(ranks);
        this.read = new CyclicBarrier(ranks);
        this.timeoutSeconds = timeoutSeconds;
    }

    public AllGather forRank(int rank) {
        return message -> {
            messages[rank] = message;
            await(written);
            String[] all = messages.clone();
            await(read);
            return all;
        };
    }

    private void await(CyclicBarrier barrier) {
        try {
            barrier.await(timeoutSeconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("interrupted in the rendezvous", e);
        } catch (BrokenBarrierException | TimeoutException e) {
            throw new CollectiveException("the rendezvous of " + messages.length + " ranks did not complete within "
                    + timeoutSeconds + " s", e);
        }
    }
}
