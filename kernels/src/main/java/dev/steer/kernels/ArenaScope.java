package dev.steer.kernels;

import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.Tensor;
import java.util.ArrayList;
import java.util.List;

/** One region of an {@link Arena}: everything allocated while it is current is released when it closes. */
final class ArenaScope implements Scope {
    private final Arena arena;
    final ArenaScope parent;
    final int markChunk;
    final long markOffset;
    private final List<DeviceTensor> kept = new ArrayList<>();
    private boolean closed;

    ArenaScope(Arena arena, ArenaScope parent, int markChunk, long markOffset) {
        this.arena = arena;
        this.parent = parent;
        this.markChunk = markChunk;
        this.markOffset = markOffset;
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Marks {@code t} to move to the enclosing scope when this one closes; until then it stays usable here.
     * Weights, and tensors already owned by an enclosing scope, are returned as they are.
     */
    @Override
    public Tensor keep(Tensor t) {
        if (!(t instanceof DeviceTensor d)) throw new IllegalArgumentException("keep: " + t + " is not a CUDA tensor");
        if (closed) throw new IllegalStateException("keep: this scope is already closed");
        if (parent == null || d.scope == null) return t;
        if (d.scope.isClosed()) throw new IllegalStateException("keep: tensor " + d + " was used after its scope closed");
        if (d.scope == this) {
            if (!kept.contains(d)) kept.add(d);
            return t;
        }
        for (ArenaScope s = parent; s != null; s = s.parent) if (s == d.scope) return t;
        throw new IllegalArgumentException("keep: tensor " + d + " belongs to a scope nested inside this one");
    }

    /** The enclosing scope's tensor this one may take the place of when it closes; null when none. */
    private DeviceTensor replacing;

    @Override
    public Tensor keep(Tensor t, Tensor replacing) {
        Tensor out = keep(t);
        if (replacing instanceof DeviceTensor r && r.scope == parent && parent != null && r != t) this.replacing = r;
        return out;
    }

    @Override
    public void close() {
        if (closed) return;
        DeviceTensor r = replacing;
        if (r != null && kept.contains(r)) r = null;
        arena.close(this, kept, r);
        closed = true;
    }
}
