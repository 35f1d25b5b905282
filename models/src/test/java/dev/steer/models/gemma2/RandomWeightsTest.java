package dev.steer.models.gemma2;

import dev.steer.engine.BadInputException;
import dev.steer.engine.tensor.Bf16;
import dev.steer.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RandomWeightsTest {
    private static final Gemma2Config GEMMA_2B = Gemma2Config.preset("gemma-2-2b");
    private static final String EMBED = "model.embed_tokens.weight";

    @Test
    void coversEveryWeightWithItsShape() {
        RandomWeights w = new RandomWeights(Gemma2Config.preset("tiny"), 1);
        Map<String, long[]> shapes = Gemma2Config.preset("tiny").weightShapes();
        assertEquals(shapes.keySet(), w.names());
        shapes.forEach((name, shape) -> {
            assertArrayEquals(shape, w.tensor(name).shape(), name);
            assertEquals("F32", w.tensor(name).dtype());
        });
        assertTrue(w.has("model.norm.weight"));
        BadInputException e = assertThrows(BadInputException.class, () -> w.tensor("lm_head.weight"));
        assertTrue(e.getMessage().contains("lm_head.weight"));
    }

    @Test
    void deterministicPerSeedAndName() {
        float[] a = new RandomWeights(GEMMA_2B, 7).tensor("model.layers.3.mlp.up_proj.weight").toFloatArray();
        float[] b = new RandomWeights(GEMMA_2B, 7).tensor("model.layers.3.mlp.up_proj.weight").toFloatArray();
        float[] otherSeed = new RandomWeights(GEMMA_2B, 8).tensor("model.layers.3.mlp.up_proj.weight").toFloatArray();
        float[] otherName = new RandomWeights(GEMMA_2B, 7).tensor("model.layers.3.mlp.gate_proj.weight").toFloatArray();
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, otherSeed));
        assertFalse(Arrays.equals(a, otherName));
    }

    /** Reads at any offset, into heap or direct buffers, agree with reading the whole tensor. */
    @Test
    void rangeReadsAgreeWithWholeReads() {
        HostTensor t = new RandomWeights(GEMMA_2B, 3).tensor("model.layers.0.self_attn.k_proj.weight");
        float[] all = t.toFloatArray();
        FloatBuffer direct = ByteBuffer.allocateDirect(4 * 100).order(ByteOrder.nativeOrder()).asFloatBuffer();
        t.readFloats(123_456, direct);
        float[] got = new float[100];
        direct.flip().get(got);
        assertArrayEquals(Arrays.copyOfRange(all, 123_456, 123_556), got);
        ShortBuffer bits = ShortBuffer.allocate(10);
        t.readBf16Bits(5, bits);
        for (int i = 0; i < 10; i++) assertEquals(Bf16.fromFloat(all[5 + i]), bits.get(i));
        assertThrows(IndexOutOfBoundsException.class, () -> t.readFloats(all.length - 5, FloatBuffer.allocate(6)));
    }

    /** The last rows of the 590M-element embedding are generated without materialising the rest. */
    @Test
    void hugeTensorsNeedNoCopy() {
        HostTensor embed = new RandomWeights(GEMMA_2B, 1).tensor(EMBED);
        assertEquals(256000L * 2304, embed.elementCount());
        FloatBuffer tail = FloatBuffer.allocate(2304);
        embed.readFloats(embed.elementCount() - 2304, tail);
        assertFalse(tail.hasRemaining());
    }

    /** Matrices ≈ normal(0, 0.02), norm weights ≈ normal(0, 0.1), in mean, spread, tails and lag-1 correlation. */
    @Test
    void statisticsLookNormal() {
        RandomWeights w = new RandomWeights(GEMMA_2B, 42);
        float[] m = new float[1_000_000];
        w.tensor("model.layers.10.mlp.down_proj.weight").readFloats(5_000_000, FloatBuffer.wrap(m));
        double mean = 0, sq = 0, lag = 0;
        int beyond2Sigma = 0;
        for (int i = 0; i < m.length; i++) {
            mean += m[i];
            sq += (double) m[i] * m[i];
            if (i > 0) lag += (double) m[i] * m[i - 1];
            if (Math.abs(m[i]) > 0.04) beyond2Sigma++;
        }
        mean /= m.length;
        double std = Math.sqrt(sq / m.length - mean * mean);
        assertEquals(0, mean, 1e-4);
        assertEquals(0.02, std, 2e-4);
        assertEquals(0.0455, beyond2Sigma / (double) m.length, 0.006); // normal: 4.55%; Irwin-Hall(4): ~4.2%
        assertEquals(0, lag / (m.length - 1) / (std * std), 0.01);
        float[] norm = w.tensor("model.layers.10.input_layernorm.weight").toFloatArray();
        double nsq = 0;
        for (float v : norm) nsq += (double) v * v;
        assertEquals(0.1, Math.sqrt(nsq / norm.length), 0.01);
    }
}
