package dev.steer.kernels;

import java.util.ArrayList;
import java.util.List;

/**
 * Scope-based device memory: a bump allocator over a chain of large chunks, allocated once and reused. A scope
 * remembers where the bump pointer stood when it opened and puts it back when it closes, so allocating a tensor
 * costs no driver call, and a decode step that allocates the same sizes in the same order gets the same
 * addresses every time (what CUDA-graph capture of a step needs).
 *
 * <p>Tensors kept past their scope ({@link ArenaScope#keep}) are moved when the scope closes: copied to a
 * staging buffer, then back down into the enclosing scope's region, both copies stream-ordered.
 */
final class Arena implements AutoCloseable {
    /** Every allocation starts on a 256-byte boundary (cuBLAS and vector loads like aligned operands). */
    static final long ALIGN = 256;

    private record Chunk(long base, long size) {
    }

    private final DeviceMemory memory;
    private final long chunkBytes;
    private final List<Chunk> chunks = new ArrayList<>();
    private int chunk;
    private long offset;
    private long stagingAddress;
    private long stagingBytes;
    private final ArenaScope root;
    private ArenaScope current;

    Arena(DeviceMemory memory, long chunkBytes) {
        this.memory = memory;
        this.chunkBytes = chunkBytes;
        this.root = new ArenaScope(this, null, 0, 0);
        this.current = root;
    }

    ArenaScope current() {
        return current;
    }

    ArenaScope open() {
        current = new ArenaScope(this, current, chunk, offset);
        return current;
    }

    /** Device bytes reserved in chunks so far. */
    long reservedBytes() {
        long n = 0;
        for (Chunk c : chunks) n += c.size;
        return n;
    }

    DeviceTensor allocate(DType dtype, long... shape) {
        DeviceTensor t = new DeviceTensor(0, dtype, shape, current);
        t.address = allocate(t.bytes());
        return t;
    }

    /** Bump-allocates in the current scope; a request that does not fit the current chunk moves to the next. */
    long allocate(long bytes) {
        long size = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);
        while (true) {
            if (chunk == chunks.size()) chunks.add(new Chunk(memory.allocate(Math.max(chunkBytes, size)), Math.max(chunkBytes, size)));
            Chunk c = chunks.get(chunk);
            if (offset + size <= c.size) {
                long address = c.base + offset;
                offset += size;
                return address;
            }
            chunk++;
            offset = 0;
        }
    }

    /** Closes {@code scope}, which must be the innermost open one, moving its kept tensors to its parent. */
    void close(ArenaScope scope, List<DeviceTensor> kept) {
        close(scope, kept, null);
    }

    /**
     * Closes {@code scope} as above; {@code replacing}, a tensor of the parent that was the parent's latest allocation
     * when {@code scope} opened (a tensor an earlier scope kept), gives its place to the kept tensors and is marked
     * released. The copies are stream-ordered after everything queued in the scope, so work that still reads it is
     * unaffected.
     */
    void close(ArenaScope scope, List<DeviceTensor> kept, DeviceTensor replacing) {
        if (scope != current) throw new IllegalStateException("scopes must close innermost first");
        long total = 0;
        for (DeviceTensor t : kept) total += align(t.bytes());
        if (total > stagingBytes) {
            if (stagingAddress != 0) memory.free(stagingAddress);
            stagingAddress = memory.allocate(total);
            stagingBytes = total;
        }
        long[] staged = new long[kept.size()];
        long at = stagingAddress;
        for (int i = 0; i < kept.size(); i++) {
            DeviceTensor t = kept.get(i);
            memory.copy(at, t.address, t.bytes());
            staged[i] = at;
            at += align(t.bytes());
        }
        chunk = scope.markChunk;
        offset = scope.markOffset;
        current = scope.parent;
        if (replacing != null && !replacing.released && replacing.scope == current && replacing.arenaChunk == chunk
                && replacing.arenaEnd == offset) {
            offset = replacing.arenaStart;
            replacing.released = true;
        }
        for (int i = 0; i < kept.size(); i++) {
            DeviceTensor t = kept.get(i);
            t.address = allocate(t.bytes());
            t.scope = current;
            t.bf16Copy = 0;
            t.arenaChunk = chunk;
            t.arenaStart = t.address - chunks.get(chunk).base;
            t.arenaEnd = offset;
            memory.copy(t.address, staged[i], t.bytes());
        }
    }

    private static long align(long bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }

    @Override
    public void close() {
        for (Chunk c : chunks) memory.free(c.base);
        chunks.clear();
        if (stagingAddress != 0) memory.free(stagingAddress);
        stagingAddress = 0;
        stagingBytes = 0;
        chunk = 0;
        offset = 0;
        current = root;
    }
}
