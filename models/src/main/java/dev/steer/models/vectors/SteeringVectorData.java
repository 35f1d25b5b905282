package dev.steer.models.vectors;

import java.nio.file.Path;
import java.util.Map;

/**
 * A steering vector as read from a file: one value per hidden dimension (finite), the file's metadata (model, layer,
 * method, trait, vector_norm, activation_norm where the writer recorded them; empty for JSON arrays) and its path.
 */
public record SteeringVectorData(float[] values, Map<String, String> metadata, Path file) {
    public SteeringVectorData {
        metadata = Map.copyOf(metadata);
    }

    /** Euclidean (L2) norm of the values, accumulated in double. */
    public double norm() {
        double s = 0;
        for (float v : values) s += (double) v * v;
        return Math.sqrt(s);
    }
}
