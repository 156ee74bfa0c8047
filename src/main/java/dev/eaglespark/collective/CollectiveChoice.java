package dev.eaglespark.collective;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The choice of {@code --collective} made the same way on every rank: each rank says through the
 * rendezvous whether it can use NCCL (its device is a GPU, NCCL and the CUDA runtime load) and
 * which version, and every rank decides from the same list. {@code auto} takes NCCL when all can
 * with one version, the ring otherwise; {@code nccl} fails with every rank's reason instead of
 * falling back; {@code ring} asks nobody.
 */
public final class CollectiveChoice {
    private static final Logger LOG = LogManager.getLogger(CollectiveChoice.class);

    /** What one rank tells the others: its NCCL version (NCCL_VERSION_CODE), 0 for none, and a detail or reason. */
    record Report(int version, String detail) {
        Report {
            if (detail.isEmpty() || detail.contains("\n")) {
                throw new IllegalArgumentException("a report's detail is one non-empty line: '" + detail + "'");
            }
        }

        boolean usable() {
            return version > 0;
        }

        /** NCCL on {@code device}, or why not. */
        static Report of(Device device) {
            if (!device.isGpu()) {
                return new Report(0, "runs on the CPU");
            }
            Engine.getInstance(); // libtorch loaded, with its NCCL and CUDA runtime
            try {
                NcclLibrary nccl = NcclLibrary.load();
                CudaRuntime.load();
                return new Report(nccl.version, NcclLibrary.versionName(nccl.version) + " from " + nccl.source);
            } catch (CollectiveException e) {
                return new Report(0, e.getMessage().replace('\n', ' '));
            }
        }

        String encode() {
            return version + " " + detail;
        }

        static Report decode(String message) {
            int space = message.indexOf(' ');
            try {
                return new Report(Integer.parseInt(message.substring(0, space)), message.substring(space + 1));
            } catch (RuntimeException e) {
                throw new CollectiveException("not a collective report: '" + message + "'", e);
            }
        }
    }

    private CollectiveChoice() {}

    /**
     * The group of this rank. The NCCL path costs one more rendezvous than the ring's (the
     * reports; NCCL's unique id is the second); {@code ring} builds the caller's ring at once, as
     * does {@code auto} for a single rank.
     *
     * @param device this rank's device (a GPU's index is NCCL's CUDA device)
     * @param allGather the rendezvous of all ranks (Spark's barrier allGather)
     * @param cancelled polled by NCCL's waits: true fails them (the task was killed)
     * @param ring builds the ring group (it does its own rendezvous) when the choice is the ring
     */
    public static Collective connect(CollectiveKind requested, int rank, int worldSize, Device device,
            CollectiveOptions options, AllGather allGather, BooleanSupplier cancelled, Supplier<Collective> ring) {
        if (requested == CollectiveKind.RING || requested == CollectiveKind.AUTO && worldSize == 1) {
            return ring.get();
        }
        List<Report> reports = Arrays.stream(allGather.allGather(Report.of(device).encode())).map(Report::decode)
                .toList();
        CollectiveKind chosen = decide(requested, reports);
        if (rank == 0) {
            LOG.info("--collective {} with {} ranks: {} ({})", requested, worldSize, chosen, describe(reports));
        }
        if (chosen == CollectiveKind.RING) {
            return ring.get();
        }
        boolean afterDefaultStream = CurrentStream.isDefault(device).orElse(false);
        return NcclCollective.join(rank, worldSize, device.getDeviceId(), options, afterDefaultStream, allGather,
                cancelled);
    }

    /** NCCL or the ring, from every rank's report; throws for {@code nccl} when a rank cannot use it. */
    static CollectiveKind decide(CollectiveKind requested, List<Report> reports) {
        if (requested == CollectiveKind.RING) {
            return CollectiveKind.RING;
        }
        List<String> problems = new ArrayList<>();
        for (int r = 0; r < reports.size(); r++) {
            if (!reports.get(r).usable()) {
                problems.add("rank " + r + " " + reports.get(r).detail());
            }
        }
        if (problems.isEmpty() && reports.stream().mapToInt(Report::version).distinct().count() > 1) {
            problems.add("the ranks load different NCCL versions (" + describe(reports) + ")");
        }
        if (problems.isEmpty()) {
            return CollectiveKind.NCCL;
        }
        if (requested == CollectiveKind.NCCL) {
            throw new CollectiveException("--collective nccl needs every rank on a GPU with the same NCCL, but "
                    + String.join("; ", problems));
        }
        return CollectiveKind.RING;
    }

    private static String describe(List<Report> reports) {
        List<String> out = new ArrayList<>();
        for (int r = 0; r < reports.size(); r++) {
            out.add("rank " + r + ": " + reports.get(r).detail());
        }
        return String.join("; ", out);
    }
}
