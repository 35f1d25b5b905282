package dev.steer.models.gemma2;

import dev.steer.engine.BadInputException;
import dev.steer.engine.tensor.HostTensor;
import dev.steer.models.hf.TensorSource;

import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.Set;

/**
 * Deterministic pseudo-random Gemma-2 weights for benchmarks ({@code steer bench --random gemma-2-2b}) that need no
 * checkpoint: element i of tensor t is a pure function of (seed, t's name, i), generated on the fly when read, so a
 * 2.6B-parameter model costs no host memory and any element range can be read in any order.
 *
 * <p>Values approximate normal(0, 0.02) (matrices, as Gemma's initializer_range) and normal(0, 0.1) for RMSNorm
 * weights, which Gemma applies as (1 + w), so norms stay near identity.
 */
public final class RandomWeights implements TensorSource {
    static final float MATRIX_STD = 0.02f;
    static final float NORM_STD = 0.1f;

    private final Gemma2Config config;
    private final long seed;
    private final Map<String, long[]> shapes;

    public RandomWeights(Gemma2Config config, long seed) {
        this.config = config;
        this.seed = seed;
        this.shapes = Collections.unmodifiableMap(config.weightShapes());
    }

    public Gemma2Config config() {
        return config;
    }

    @Override
    public Set<String> names() {
        return shapes.keySet();
    }

    @Override
    public boolean has(String name) {
        return shapes.containsKey(name);
    }

    @Override
    public HostTensor tensor(String name) {
        long[] shape = shapes.get(name);
        if (shape == null) throw new BadInputException("random Gemma-2 weights have no tensor " + name);
        float std = shape.length == 1 ? NORM_STD : MATRIX_STD;
        return new Generated(name, shape.clone(), mix(seed ^ fnv1a(name)), std);
    }

    private record Generated(String name, long[] shape, long stream, float std) implements HostTensor {
        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public String dtype() {
            return "F32";
        }

        @Override
        public void readFloats(long offset, FloatBuffer dst) {
            int n = dst.remaining();
            if (offset < 0 || offset > elementCount() - n) {
                throw new IndexOutOfBoundsException(name + ": elements [" + offset + ", " + (offset + n) + ") outside 0.."
                        + elementCount());
            }
            if (dst.hasArray()) {
                float[] out = dst.array();
                int base = dst.arrayOffset() + dst.position();
                for (int i = 0; i < n; i++) out[base + i] = value(offset + i);
                dst.position(dst.position() + n);
            } else {
                for (int i = 0; i < n; i++) dst.put(value(offset + i));
            }
        }

        /**
         * Irwin-Hall: the sum of four 16-bit uniforms cut from one 64-bit hash has mean 2 and variance 4/12; centred
         * and scaled it is close to normal (bounded at ±3.46σ, which is harmless for a benchmark).
         */
        private float value(long index) {
            long h = mix(stream + index * 0x9E3779B97F4A7C15L);
            int sum = (int) (h & 0xFFFF) + (int) ((h >>> 16) & 0xFFFF) + (int) ((h >>> 32) & 0xFFFF) + (int) (h >>> 48);
            float uniformSum = (sum + 2f) * (1f / 65536f);
            return (uniformSum - 2f) * 1.7320508f * std;
        }
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix with good avalanche, so consecutive indices decorrelate. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        return h;
    }
}
