package dev.steer.kernels;

import java.util.HashMap;
import java.util.Map;

/** Bytes held per device allocation, in use now and at most so far: what {@link Gpu#peakAllocatedBytes} reports. */
final class AllocationMeter {
    private final Map<Long, Long> sizes = new HashMap<>();
    private long inUse;
    private long peak;

    void allocated(long address, long bytes) {
        sizes.put(address, bytes);
        inUse += bytes;
        peak = Math.max(peak, inUse);
    }

    /** False when {@code address} is not a live allocation. */
    boolean freed(long address) {
        Long b = sizes.remove(address);
        if (b == null) return false;
        inUse -= b;
        return true;
    }

    long peak() {
        return peak;
    }
}
