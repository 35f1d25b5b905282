package dev.steer.engine.djl;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The check before loading: gemma-2-2b's 2.61 B parameters against the memory a machine has left. */
class HostMemoryTest {
    static final long GEMMA_2_2B = 2_614_341_888L;

    @Test
    void aModelThatFitsLoads() {
        // 10.46 GB of float32 weights + 1.07 GB of runtime on a machine with 12 GB available
        assertDoesNotThrow(() -> HostMemory.checkRoom("random:gemma-2-2b", GEMMA_2_2B, 4, "float32", 12_000_000_000L));
    }

    @Test
    void aModelThatDoesNotFitIsRefusedInOneLineWithTheFigures() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> HostMemory.checkRoom("/models/gemma-2-2b", GEMMA_2_2B, 4, "float32", 8_000_000_000L));
        assertEquals("/models/gemma-2-2b: 2.61 B parameters as float32 need 11.5 GB of memory on cpu (with 1.1 GB for the runtime), "
                + "but 8.0 GB is available; --precision bf16 halves the weights", e.getMessage());
        BadInputException bf16 = assertThrows(BadInputException.class,
                () -> HostMemory.checkRoom("/models/gemma-2-2b", GEMMA_2_2B, 2, "bf16", 6_000_000_000L));
        assertEquals("/models/gemma-2-2b: 2.61 B parameters as bf16 need 6.3 GB of memory on cpu (with 1.1 GB for the runtime), "
                + "but 6.0 GB is available", bf16.getMessage());
    }

    @Test
    void thisMachineReportsWhatIsAvailableAndItsPeak() {
        long available = HostMemory.availableBytes();
        assertTrue(available > 0, "available " + available);
        long peak = HostMemory.peakResidentBytes();
        Runtime.getRuntime().gc();
        assertTrue(peak > 10_000_000L, "a JVM's peak resident set is tens of MB at least, was " + peak);
    }
}
