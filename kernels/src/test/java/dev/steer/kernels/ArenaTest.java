package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArenaTest {
    /** Device memory simulated by one byte array; addresses start at 1 MiB so 0 stays "null". */
    static final class FakeMemory implements DeviceMemory {
        static final long BASE = 1 << 20;
        final byte[] bytes = new byte[1 << 22];
        long next = BASE;
        final List<Long> allocations = new ArrayList<>();
        final List<Long> freed = new ArrayList<>();

        @Override
        public long allocate(long size) {
            long a = next;
            next += (size + 4095) / 4096 * 4096;
            if (next - BASE > bytes.length) throw new IllegalStateException("fake memory full");
            allocations.add(a);
            return a;
        }

        @Override
        public void free(long address) {
            freed.add(address);
        }

        @Override
        public void copy(long dst, long src, long n) {
            System.arraycopy(bytes, (int) (src - BASE), bytes, (int) (dst - BASE), (int) n);
        }

        void fill(DeviceTensor t, byte value) {
            for (long i = 0; i < t.bytes(); i++) bytes[(int) (t.address - BASE + i)] = value;
        }

        byte[] read(DeviceTensor t) {
            byte[] out = new byte[(int) t.bytes()];
            System.arraycopy(bytes, (int) (t.address - BASE), out, 0, out.length);
            return out;
        }
    }

    @Test
    void aStepThatAllocatesTheSameSizesGetsTheSameAddresses() {
        FakeMemory memory = new FakeMemory();
        Arena arena = new Arena(memory, 64 * 1024);
        long[] first = new long[3], second = new long[3];
        try (ArenaScope s = arena.open()) {
            for (int i = 0; i < 3; i++) first[i] = arena.allocate(DType.F32, 100, 7).address;
        }
        try (ArenaScope s = arena.open()) {
            for (int i = 0; i < 3; i++) second[i] = arena.allocate(DType.F32, 100, 7).address;
        }
        assertArrayEquals(first, second);
        assertEquals(1, memory.allocations.size(), "one chunk serves both steps");
        // 100 * 7 * 4 = 2800 bytes, rounded up to 256-byte alignment: 2816
        assertEquals(2816, first[1] - first[0]);
    }

    @Test
    void innerScopesReleaseTheirMemoryOnClose() {
        FakeMemory memory = new FakeMemory();
        Arena arena = new Arena(memory, 64 * 1024);
        try (ArenaScope outer = arena.open()) {
            long a = arena.allocate(1000);
            long inner;
            try (ArenaScope s = arena.open()) {
                inner = arena.allocate(5000);
                assertSame(s, arena.current());
            }
            assertSame(outer, arena.current());
            assertEquals(inner, arena.allocate(10), "the inner region is reused");
            assertEquals(a + 1024, inner);
        }
    }

    @Test
    void requestsLargerThanAChunkChainANewChunk() {
        FakeMemory memory = new FakeMemory();
        Arena arena = new Arena(memory, 4096);
        try (ArenaScope s = arena.open()) {
            arena.allocate(3000);
            arena.allocate(3000);          // does not fit the first chunk's rest: second chunk
            arena.allocate(100_000);       // larger than a chunk: a chunk of its own size
        }
        assertEquals(3, memory.allocations.size());
        assertEquals(4096 + 4096 + 100_096, arena.reservedBytes());
        try (ArenaScope s = arena.open()) {
            arena.allocate(3000);
            arena.allocate(3000);
            arena.allocate(100_000);
        }
        assertEquals(3, memory.allocations.size(), "the chain is reused, not grown");
        arena.close();
        assertEquals(memory.allocations, memory.freed);
    }

    @Test
    void aKeptTensorMovesToTheEnclosingScopeWithItsContents() {
        FakeMemory memory = new FakeMemory();
        Arena arena = new Arena(memory, 64 * 1024);
        try (ArenaScope outer = arena.open()) {
            DeviceTensor before = arena.allocate(DType.F32, 10);
            DeviceTensor kept;
            try (ArenaScope inner = arena.open()) {
                memory.fill(arena.allocate(DType.F32, 300), (byte) 9);
                kept = arena.allocate(DType.F32, 64);
                memory.fill(kept, (byte) 7);
                assertSame(kept, inner.keep(kept));
                assertSame(before, inner.keep(before), "a tensor of an enclosing scope already outlives this one");
            }
            assertSame(outer, kept.scope);
            assertEquals(before.address + 256, kept.address, "moved down to where the inner region began");
            byte[] sevens = new byte[256];
            java.util.Arrays.fill(sevens, (byte) 7);
            assertArrayEquals(sevens, memory.read(kept));
            DeviceTensor after = arena.allocate(DType.F32, 1);
            assertTrue(after.address >= kept.address + kept.bytes(), "the next tensor does not overwrite the kept one");
        }
    }

    @Test
    void aClosedScopesTensorCannotBeUsed() {
        Arena arena = new Arena(new FakeMemory(), 64 * 1024);
        DeviceTensor t;
        try (ArenaScope s = arena.open()) {
            t = arena.allocate(DType.F32, 4);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.live("rmsNorm"));
        assertTrue(e.getMessage().contains("rmsNorm"), e.getMessage());
    }

    @Test
    void scopesMustCloseInnermostFirst() {
        Arena arena = new Arena(new FakeMemory(), 64 * 1024);
        ArenaScope outer = arena.open();
        ArenaScope inner = arena.open();
        assertThrows(IllegalStateException.class, outer::close);
        inner.close();
        outer.close();
        assertNotEquals(outer, arena.current());
    }

    /**
     * The prefill pattern: one scope per layer, each keeping its output in place of its input. The outputs take one
     * place in the step's region instead of one each; a tensor kept alongside (telemetry) stays; the released input
     * cannot be used; contents survive the move.
     */
    @Test
    void aLayerChainKeepsOneOutputInsteadOfOnePerLayer() {
        FakeMemory memory = new FakeMemory();
        Arena arena = new Arena(memory, 1 << 20);
        try (ArenaScope step = arena.open()) {
            DeviceTensor h = arena.allocate(DType.F32, 1000);   // the embedding: not kept by a scope, never released
            DeviceTensor first = null;
            long topAfterFirst = 0;
            List<DeviceTensor> norms = new ArrayList<>();
            for (int layer = 0; layer < 10; layer++) {
                DeviceTensor in = h;
                try (ArenaScope s = arena.open()) {
                    arena.allocate(DType.F32, 5000);                 // the layer's intermediates
                    DeviceTensor norm = arena.allocate(DType.F32, 8);
                    memory.fill(norm, (byte) layer);
                    norms.add((DeviceTensor) s.keep(norm));
                    DeviceTensor out = arena.allocate(DType.F32, 1000);
                    memory.fill(out, (byte) (layer + 1));
                    h = (DeviceTensor) s.keep(out, in);
                }
                if (layer == 0) {
                    assertTrue(!in.released, "the embedding was allocated in the step itself, not moved there by a scope: never released");
                    first = h;
                } else {
                    assertTrue(in.released, "layer " + layer + "'s input gave its place to the output");
                    assertThrows(IllegalStateException.class, () -> in.live("rmsNorm"));
                }
                if (layer == 1) topAfterFirst = h.address;
                if (layer > 1) assertEquals(topAfterFirst + (layer - 1) * 256L, h.address, "only the 8-float norms pile up (256 bytes each)");
            }
            byte[] want = new byte[4000];
            java.util.Arrays.fill(want, (byte) 10);
            assertArrayEquals(want, memory.read(h));
            for (int layer = 0; layer < 10; layer++) assertEquals((byte) layer, memory.read(norms.get(layer))[0], "norm " + layer);
            assertTrue(first.released);
        }
    }

    @Test
    void aTensorThatIsNotTheLatestAllocationOrIsKeptItselfIsNotReleased() {
        FakeMemory memory = new FakeMemory();
        Arena arena = new Arena(memory, 1 << 20);
        try (ArenaScope step = arena.open()) {
            DeviceTensor a;
            try (ArenaScope s = arena.open()) {
                a = (DeviceTensor) s.keep(arena.allocate(DType.F32, 100));
            }
            DeviceTensor b = arena.allocate(DType.F32, 100);   // now a is not the step's latest allocation
            try (ArenaScope s = arena.open()) {
                s.keep(arena.allocate(DType.F32, 100), a);
            }
            assertTrue(!a.released, "a is below b: its place cannot be taken");
            DeviceTensor c;
            try (ArenaScope s = arena.open()) {
                c = (DeviceTensor) s.keep(arena.allocate(DType.F32, 100));
            }
            try (ArenaScope s = arena.open()) {
                s.keep(c, c);   // c is the enclosing scope's own tensor: returned as it is, never released
            }
            assertTrue(!c.released);
            c.live("add");
            b.live("add");
        }
    }
}
