package dev.eaglespark.collective;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The choice of {@code --collective} made the same way on every rank: each rank says through the
 * rendezvous whether it can use NCCL (its device is a GPU, NCCL and the CUDA runtime load), which
 * version and which GPU, and every rank decides from the same list. {@code auto} takes NCCL when
 * all can with one version and no two share a GPU, the ring otherwise; {@code nccl} fails with every rank's reason instead of
 * falling back; {@code ring} asks nobody.
 */
public final class CollectiveChoice {
    private static final Logger LOG = LogManager.getLogger(CollectiveChoice.class);

    /**
     * What one rank tells the others: its NCCL version (NCCL_VERSION_CODE, 0 for none), its GPU
     * (host and PCI bus id: NCCL allows one rank per GPU) and a detail, or the reason it has none.
     */
    record Report(int version, String gpu, String detail) {
        Report {
            if (gpu.isEmpty() || gpu.contains(" ") || detail.isEmpty() || detail.contains("\n")) {
                throw new IllegalArgumentException("a report is one line: '" + gpu + "', '" + detail + "'");
            }
        }

        static Report none(String reason) {
            return new Report(0, "-", reason);
        }

        boolean usable() {
            return version > 0;
        }

        /** NCCL on {@code device}, or why not. */
        static Report of(Device device) {
            if (!device.isGpu()) {
                return none("runs on the CPU");
            }
            Engine.getInstance(); // libtorch loaded, with its NCCL and CUDA runtime
            try {
                NcclLibrary nccl = NcclLibrary.load();
                String bus = CudaRuntime.load().pciBusId(device.getDeviceId());
                return new Report(nccl.version, hostName() + "/" + bus,
                        NcclLibrary.versionName(nccl.version) + " from " + nccl.source);
            } catch (CollectiveException e) {
                return none(e.getMessage().replace('\n', ' '));
            }
        }

        /** This machine's name, without asking DNS (GPU machines may have none). */
        private static String hostName() {
            try {
                return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip().replace(' ', '_');
            } catch (IOException e) {
                return "unknown-host";
            }
        }

        String encode() {
            return version + " " + gpu + " " + detail;
        }

        static Report decode(String message) {
            String[] parts = message.split(" ", 3);
            try {
                return new Report(Integer.parseInt(parts[0]), parts[1], parts[2]);
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
        for (int r = 0; r < reports.size() && problems.isEmpty(); r++) {
            for (int q = 0; q < r; q++) {
                if (reports.get(q).gpu().equals(reports.get(r).gpu())) {
                    problems.add("ranks " + q + " and " + r + " share the GPU " + reports.get(r).gpu());
                }
            }
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
            out.add("rank " + r + ": " + (reports.get(r).usable() ? reports.get(r).gpu() + ", NCCL " : "")
                    + reports.get(r).detail());
        }
        return String.join("; ", out);
    }
}
