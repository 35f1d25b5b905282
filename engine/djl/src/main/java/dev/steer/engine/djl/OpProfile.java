package dev.steer.engine.djl;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the cpu backend's time goes, op by op: calls and wall time per op of the Backend interface since the
 * backend opened (prefill and decode together), for {@code steer bench}'s backend stats. Two clock reads an op;
 * the ops themselves take microseconds to milliseconds.
 */
final class OpProfile {
    enum Op { EMBED, RMS_NORM, LINEAR, ADD, GELU_MUL, SOFTCAP, ROPE, ATTENTION, DECODE_LAYERS, STEER, TO_HOST, ARGMAX }

    private final long[] nanos = new long[Op.values().length];
    private final long[] calls = new long[Op.values().length];

    void add(Op op, long startNanos) {
        nanos[op.ordinal()] += System.nanoTime() - startNanos;
        calls[op.ordinal()]++;
    }

    /** One line per op that ran, the costliest first: calls, total ms, µs a call, share of the ops' time. */
    List<String> lines() {
        long total = 0;
        for (long n : nanos) total += n;
        List<Op> ops = new ArrayList<>(List.of(Op.values()));
        ops.removeIf(o -> calls[o.ordinal()] == 0);
        ops.sort((a, b) -> Long.compare(nanos[b.ordinal()], nanos[a.ordinal()]));
        List<String> out = new ArrayList<>();
        for (Op o : ops) {
            int i = o.ordinal();
            out.add(String.format("%-10s %8d calls %10.1f ms %9.1f us/call %5.1f%%", o.name().toLowerCase(), calls[i], nanos[i] / 1e6,
                    nanos[i] / 1e3 / calls[i], total == 0 ? 0 : 100.0 * nanos[i] / total));
        }
        return out;
    }
}
