package dev.steer.engine.djl;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Whether a model's weights fit in the memory this process can still get, checked before the first upload (the
 * kernel's OOM killer, or a failed allocation half way through a 10 GB load, is the alternative).
 */
final class HostMemory {
    /** What the JVM, libtorch and one step's activations take besides the weights. */
    static final long OVERHEAD_BYTES = 1L << 30;
    private static final double GB = 1e9;

    private HostMemory() {
    }

    /**
     * Bytes this process may still allocate: MemAvailable from /proc/meminfo (free memory plus the page cache the
     * kernel can drop), capped by the cgroup's memory.max less what the cgroup uses; Long.MAX_VALUE where neither
     * can be read (not Linux).
     */
    static long availableBytes() {
        long available = Long.MAX_VALUE;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) available = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: no check
        }
        try {
            List<String> max = Files.readAllLines(Path.of("/sys/fs/cgroup/memory.max"));
            List<String> current = Files.readAllLines(Path.of("/sys/fs/cgroup/memory.current"));
            if (!max.isEmpty() && !max.get(0).trim().equals("max") && !current.isEmpty())
                available = Math.min(available, Long.parseLong(max.get(0).trim()) - Long.parseLong(current.get(0).trim()));
        } catch (IOException | RuntimeException e) {
            // no cgroup v2 limit
        }
        return available;
    }

    /** This process's peak resident set (VmHWM of /proc/self/status) in bytes; -1 where it cannot be read. */
    static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    /** Refuses with one line when {@code parameters} weights of {@code bytesPerParameter} and the overhead exceed {@code available}. */
    static void checkRoom(String model, long parameters, int bytesPerParameter, String dtype, long available) {
        long need = parameters * bytesPerParameter + OVERHEAD_BYTES;
        if (need <= available) return;
        String hint = bytesPerParameter > 2 ? "; --precision bf16 halves the weights" : "";
        throw new BadInputException(String.format("%s: %.2f B parameters as %s need %.1f GB of memory on cpu (with %.1f GB for the runtime), "
                + "but %.1f GB is available%s", model, parameters / 1e9, dtype, need / GB, OVERHEAD_BYTES / GB, available / GB, hint));
    }
}
