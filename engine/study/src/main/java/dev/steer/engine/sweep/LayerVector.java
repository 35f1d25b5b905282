package dev.steer.engine.sweep;

import dev.steer.engine.steering.SteeringVector;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A steering vector for one layer as a sweep uses it, with what the results store records about it.
 *
 * @param method   extraction method (mean_diff, probe, ...)
 * @param position where it was extracted from (the file's metadata), or "unknown"
 * @param file     where it was read from
 */
public record LayerVector(int layer, SteeringVector vector, String method, String position, String file) {
    public double norm() {
        return vector.norm();
    }

    /** SHA-256 (hex) over the values as little-endian float32: the same vector from JSON or safetensors hashes alike. */
    public String sha256() {
        float[] v = vector.values();
        ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(v);
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(buf.array()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }
}
