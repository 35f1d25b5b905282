package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.steer.engine.tensor.Bf16;
import dev.steer.engine.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WeightStreamTest {
    /** Ten values; records the size of every read so the test can see no read exceeds a chunk. */
    private static final class Recording implements HostTensor {
        final float[] data = {1f, 1f + 0x1p-8f, -2.5f, 7.3f, 0f, 1e-3f, 100f, -0.1f, 3.14159f, 65504f};
        final List<Integer> reads = new ArrayList<>();

        @Override
        public String name() {
            return "model.layers.0.mlp.up_proj.weight";
        }

        @Override
        public long[] shape() {
            return new long[] {2, 5};
        }

        @Override
        public String dtype() {
            return "F32";
        }

        @Override
        public void readFloats(long offset, FloatBuffer dst) {
            reads.add(dst.remaining());
            dst.put(data, (int) offset, dst.remaining());
        }
    }

    @Test
    void bf16ChunksAreRoundedAndPlacedAtTheirByteOffsets() {
        Recording source = new Recording();
        ByteBuffer device = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        List<Long> offsets = new ArrayList<>();
        new WeightStream(4, ByteBuffer.allocateDirect(16)).stream(source, DType.BF16, (offset, chunk) -> {
            offsets.add(offset);
            device.position((int) offset);
            device.put(chunk);
        });
        assertEquals(List.of(0L, 8L, 16L), offsets);
        assertEquals(List.of(4, 4, 2), source.reads, "never more than one chunk on the host");
        for (int i = 0; i < 10; i++) assertEquals(Bf16.round(source.data[i]), Bf16.toFloat(device.getShort(2 * i)), "element " + i);
        assertEquals(1f, Bf16.toFloat(device.getShort(2)), "1 + 2^-8 rounds to even");
    }

    @Test
    void f32ChunksAreCopiedExactly() {
        Recording source = new Recording();
        ByteBuffer device = ByteBuffer.allocate(40).order(ByteOrder.nativeOrder());
        new WeightStream(3, ByteBuffer.allocateDirect(12)).stream(source, DType.F32, (offset, chunk) -> {
            assertTrue(chunk.limit() <= 12);
            device.position((int) offset);
            device.put(chunk);
        });
        for (int i = 0; i < 10; i++) assertEquals(source.data[i], device.getFloat(4 * i), "element " + i);
    }
}
