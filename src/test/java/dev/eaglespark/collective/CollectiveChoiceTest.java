package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.eaglespark.collective.CollectiveChoice.Report;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code --collective} on CPU ranks, as CI runs them: what each rank reports about NCCL, the
 * choice all ranks make from the same reports, and the groups two ranks build with it.
 */
@Timeout(60)
class CollectiveChoiceTest {
    private static final Report NCCL_2_21 = gpu(0, 22105);

    /** A rank on GPU {@code bus} of host a with NCCL {@code version}. */
    private static Report gpu(int bus, int version) {
        return new Report(version, "a/0000:" + (bus + 10) + ":00.0", NcclLibrary.versionName(version)
                + " from /opt/djl/lib/libtorch_cuda.so");
    }

    @Test
    void autoTakesNcclOnlyWhenEveryRankHasItsOwnGpuAndTheSameNccl() {
        Report cpu = Report.none("runs on the CPU");
        assertEquals(CollectiveKind.NCCL, CollectiveChoice.decide(CollectiveKind.AUTO, List.of(NCCL_2_21, gpu(1, 22105))));
        assertEquals(CollectiveKind.RING, CollectiveChoice.decide(CollectiveKind.AUTO, List.of(NCCL_2_21, cpu)));
        assertEquals(CollectiveKind.RING, CollectiveChoice.decide(CollectiveKind.AUTO, List.of(NCCL_2_21, gpu(1, 22704))));
        assertEquals(CollectiveKind.RING, CollectiveChoice.decide(CollectiveKind.AUTO, List.of(NCCL_2_21, NCCL_2_21)));
        assertEquals(CollectiveKind.RING, CollectiveChoice.decide(CollectiveKind.RING, List.of(NCCL_2_21, gpu(1, 22105))));
        assertEquals(CollectiveKind.NCCL, CollectiveChoice.decide(CollectiveKind.NCCL, List.of(NCCL_2_21)));
    }

    @Test
    void ncclNamesEveryRankThatCannot() {
        CollectiveException e = assertThrows(CollectiveException.class, () -> CollectiveChoice.decide(
                CollectiveKind.NCCL, List.of(NCCL_2_21, Report.none("runs on the CPU"), Report.none("no NCCL"))));
        assertTrue(e.getMessage().contains("rank 1 runs on the CPU; rank 2 no NCCL"), e.getMessage());
        e = assertThrows(CollectiveException.class, () -> CollectiveChoice.decide(CollectiveKind.NCCL,
                List.of(NCCL_2_21, gpu(1, 22704))));
        assertTrue(e.getMessage().contains("different NCCL versions"), e.getMessage());
        e = assertThrows(CollectiveException.class, () -> CollectiveChoice.decide(CollectiveKind.NCCL,
                List.of(gpu(1, 22105), NCCL_2_21, gpu(1, 22105))));
        assertTrue(e.getMessage().contains("ranks 0 and 2 share the GPU a/0000:11:00.0"), e.getMessage());
    }

    @Test
    void reportsTravelAsOneLine() {
        assertEquals(NCCL_2_21, Report.decode(NCCL_2_21.encode()));
        assertEquals(Report.none("no NCCL in /x y"), Report.decode(Report.none("no NCCL in /x y").encode()));
        assertThrows(CollectiveException.class, () -> Report.decode("10.0.0.7:4242"));
        assertThrows(IllegalArgumentException.class, () -> Report.none("two\nlines"));
    }

    @Test
    void aCpuRankAndACpuBuildOfLibtorchHaveNoNccl() {
        Report cpu = Report.of(Device.cpu());
        assertFalse(cpu.usable());
        assertEquals("runs on the CPU", cpu.detail());
        // Asked for a GPU, this machine's libtorch (the CPU build) has no libtorch_cuda.so to take NCCL from.
        Report gpu = Report.of(Device.gpu(0));
        assertFalse(gpu.usable());
        assertTrue(gpu.detail().contains("libtorch_cuda.so is not loaded"), gpu.detail());
    }

    @Test
    void aLibraryNamedInPlaceOfNcclMustBeNccl() {
        String before = System.getProperty(NcclLibrary.PROPERTY);
        try {
            System.setProperty(NcclLibrary.PROPERTY, "/nonexistent/libnccl.so.2");
            CollectiveException missing = assertThrows(CollectiveException.class, NcclLibrary::load);
            assertTrue(missing.getMessage().contains("no usable NCCL in /nonexistent/libnccl.so.2"),
                    missing.getMessage());
            String libc = LoadedLibraries.find(java.util.regex.Pattern.compile("libc\\.so\\.6")).orElseThrow();
            System.setProperty(NcclLibrary.PROPERTY, libc);
            CollectiveException notNccl = assertThrows(CollectiveException.class, NcclLibrary::load);
            assertTrue(notNccl.getMessage().contains("ncclGetVersion"), notNccl.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(NcclLibrary.PROPERTY);
            } else {
                System.setProperty(NcclLibrary.PROPERTY, before);
            }
        }
    }

    @Test
    void autoOnCpuRanksBuildsTheRing() throws Exception {
        List<Collective> groups = connect(CollectiveKind.AUTO);
        try {
            List<float[]> sums = TestRing.runAll(2, r -> {
                float[] x = {r + 1, 10 * (r + 1)};
                groups.get(r).allReduceSum(x);
                return x;
            });
            for (int r = 0; r < 2; r++) {
                assertInstanceOf(RingCollective.class, groups.get(r));
                assertArrayEquals(new float[] {3, 30}, sums.get(r));
            }
        } finally {
            TestRing.closeAll(groups);
        }
    }

    @Test
    void ncclOnCpuRanksFailsOnEveryRankWithTheReason() {
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(CollectiveKind.NCCL));
        assertInstanceOf(CollectiveException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("--collective nccl needs every rank on a GPU")
                && e.getCause().getMessage().contains("rank 0 runs on the CPU; rank 1 runs on the CPU"),
                e.getCause().getMessage());
    }

    /** Two CPU ranks as threads, choosing through a shared rendezvous; the ring over loopback. */
    private static List<Collective> connect(CollectiveKind kind) throws Exception {
        CollectiveOptions options = TestRing.loopback();
        List<RingListener> listeners = TestRing.listeners(2, options);
        ThreadAllGather rendezvous = new ThreadAllGather(2, 30);
        try {
            return TestRing.runAll(2, r -> CollectiveChoice.connect(kind, r, 2, Device.cpu(), options,
                    rendezvous.forRank(r), () -> false, () -> RingCollective.connect(listeners.get(r), r, 2,
                            TestRing.addresses(listeners), TestRing.SECRET)));
        } finally {
            listeners.forEach(RingListener::close);
        }
    }
}
