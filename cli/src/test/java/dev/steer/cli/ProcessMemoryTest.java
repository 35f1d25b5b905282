package dev.steer.cli;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench's {@code peak_rss_bytes} (VmHWM of /proc/self/status) beside {@code peak_memory_bytes} (device; null on cpu). */
class ProcessMemoryTest {
    @Test
    void vmHwmIsReadInBytes() {
        assertEquals(123456L * 1024, ProcessMemory.peakRssBytes(List.of("Name:\tjava", "VmPeak:\t  999999 kB", "VmHWM:\t  123456 kB", "VmRSS:\t 100 kB")));
        assertNull(ProcessMemory.peakRssBytes(List.of("Name:\tjava", "VmRSS:\t 100 kB")));
        assertNull(ProcessMemory.peakRssBytes(List.of("VmHWM:\t lots kB")));
    }

    @Test
    void benchReportsPeakResidentMemoryAndNullDeviceMemoryOnCpu() {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isReadable(ProcessMemory.STATUS), "not Linux");
        CliRun r = CliRun.of("bench", "--random", "tiny", "--batch", "1", "--prompt-len", "4", "--max-new-tokens", "2", "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        assertTrue(o.get("peak_memory_bytes").isJsonNull(), "cpu cannot tell device memory: null, not -1: " + o);
        long rss = o.get("peak_rss_bytes").getAsLong();
        // A high-water mark: positive, at most what it is read as afterwards, and at least the heap this JVM has in use.
        assertTrue(rss > 0 && rss <= ProcessMemory.peakRssBytes(), rss + " vs " + ProcessMemory.peakRssBytes());
        Runtime rt = Runtime.getRuntime();
        assertTrue(rss >= rt.totalMemory() - rt.freeMemory() - (64L << 20) || rss >= 64L << 20, "rss " + rss);
        JsonObject row = o.getAsJsonArray("runs").get(0).getAsJsonObject();
        assertTrue(row.get("peak_memory_bytes").isJsonNull() && row.get("peak_rss_bytes").getAsLong() > 0, row.toString());
    }
}
