package dev.steer.engine.steering;

import dev.steer.engine.BadInputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A direction in a layer's residual space with its provenance: the one vector type of steer (files, extraction,
 * sweeps, the results store). Values are checked finite on construction and never changed after; {@link #norm()}
 * (L2, accumulated in double) and {@link #sha256()} (over the values as little-endian float32, so the same vector
 * read from JSON or safetensors hashes alike) are computed once.
 */
public final class SteeringVector {
    private final float[] values;
    private final VectorProvenance provenance;
    private final double norm;
    private String sha256;

    public SteeringVector(float[] values, VectorProvenance provenance) {
        for (int i = 0; i < values.length; i++)
            if (!Float.isFinite(values[i]))
                throw new BadInputException(provenance.source() + ": element " + i + " is " + values[i] + " (a steering vector must be finite)");
        this.values = values.clone();
        this.provenance = provenance;
        double s = 0;
        for (float v : values) s += (double) v * v;
        this.norm = Math.sqrt(s);
    }

    /** A vector known only by its source. */
    public SteeringVector(float[] values, String source) {
        this(values, VectorProvenance.of(source));
    }

    /** The values; read-only by contract (not copied, since every decode step's delta is built from them). */
    public float[] values() {
        return values;
    }

    public int size() {
        return values.length;
    }

    /** L2 norm, in double. */
    public double norm() {
        return norm;
    }

    public VectorProvenance provenance() {
        return provenance;
    }

    /** Where it was read from or written to (a path or a name). */
    public String source() {
        return provenance.source();
    }

    /** SHA-256 (hex) over the values as little-endian float32. */
    public synchronized String sha256() {
        if (sha256 == null) {
            ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(values);
            try {
                sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(buf.array()));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
            }
        }
        return sha256;
    }

    @Override
    public String toString() {
        return provenance.source() + " (" + values.length + " values, norm " + norm + ")";
    }
}
