package dev.steer.models.hf;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.djl.DjlBackend;
import dev.steer.models.LoadedModel;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code DIR f32|bf16}: loads a checkpoint on the cpu backend, then prints {@code weight_bytes N vmhwm_bytes M}
 * (the process's peak resident set, /proc/self/status). Run in its own JVM by {@link CpuLoadMemoryTest} and
 * tools/bench/cpu-floor.sh, so the peak is the load's alone.
 */
public final class LoadPeak {
    private LoadPeak() {
    }

    public static void main(String[] args) throws Exception {
        try (Backend b = DjlBackend.cpu(args[1].equals("bf16"), 0); LoadedModel m = LoadedModel.open(Path.of(args[0]), b)) {
            long hwm = -1;
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) hwm = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            System.out.println("weight_bytes " + b.stats().get("weight_bytes") + " vmhwm_bytes " + hwm);
        }
    }
}
