package dev.eaglespark.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * What NCCL is handed without a GPU: the unique id as the rendezvous carries it and as
 * ncclCommInitRankConfig takes it by value, and the non-blocking communicator's config.
 */
class NcclRendezvousTest {
    @Test
    void rankZerosIdTravelsAsBase64AndIsCheckedOnArrival() {
        byte[] id = new byte[NcclLibrary.UNIQUE_ID_BYTES];
        for (int i = 0; i < id.length; i++) {
            id[i] = (byte) (31 * i + 7);
        }
        assertArrayEquals(id, NcclCollective.uniqueId("nccl-id " + Base64.getEncoder().encodeToString(id)));
        for (String bad : new String[] {"nccl-id ", "10.0.0.1:4242", "nccl-id ***",
            "nccl-id " + Base64.getEncoder().encodeToString(new byte[64])}) {
            CollectiveException e = assertThrows(CollectiveException.class, () -> NcclCollective.uniqueId(bad));
            assertTrue(e.getMessage().contains("rank 0"), e.getMessage());
        }
    }

    @Test
    void theIdIsPassedAsItsOwn128Bytes() {
        byte[] id = new byte[NcclLibrary.UNIQUE_ID_BYTES];
        id[0] = 2;
        id[127] = -1;
        NcclLibrary.UniqueId byValue = new NcclLibrary.UniqueId(id);
        byValue.write();
        assertEquals(128, byValue.size());
        assertArrayEquals(id, byValue.getPointer().getByteArray(0, 128));
        assertThrows(IllegalArgumentException.class, () -> new NcclLibrary.UniqueId(new byte[127]));
    }

    @Test
    void theConfigAsksForANonBlockingCommunicator() {
        Memory c = NcclLibrary.nonBlockingConfig();
        assertEquals(c.size(), c.getLong(0), "size");
        assertEquals(0xcafebeef, c.getInt(8), "NCCL_API_MAGIC");
        assertEquals(0, c.getInt(16), "blocking");
        assertEquals(Integer.MIN_VALUE, c.getInt(20), "cgaClusterSize left to NCCL");
        assertEquals("2.21.5", NcclLibrary.versionName(22105));
    }
}
