package dev.steer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * This process's peak resident memory (RAM, not device memory): {@code VmHWM} of {@code /proc/self/status}, the
 * kernel's high-water mark of the resident set since the process started. Null where there is no such file (not
 * Linux) or it does not say.
 */
final class ProcessMemory {
    static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {
    }

    static Long peakRssBytes() {
        try {
            return peakRssBytes(Files.readAllLines(STATUS));
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    /** {@code VmHWM:    123456 kB} in a status file's lines, in bytes (the kernel's kB are KiB); null when absent. */
    static Long peakRssBytes(List<String> statusLines) {
        for (String line : statusLines) {
            if (!line.startsWith("VmHWM:")) continue;
            String[] parts = line.substring("VmHWM:".length()).trim().split("\\s+");
            try {
                long kib = Long.parseLong(parts[0]);
                return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? kib * 1024 : null;
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }
}
