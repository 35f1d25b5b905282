package dev.steer.engine.steering;

import dev.steer.engine.BadInputException;

/**
 * A direction in a layer's residual space, with where it came from (a file, a method) for records and reports.
 * Values are checked finite on construction.
 */
public record SteeringVector(float[] values, String source) {
    public SteeringVector {
        for (int i = 0; i < values.length; i++)
            if (!Float.isFinite(values[i]))
                throw new BadInputException(source + ": element " + i + " is " + values[i] + " (vectors must be finite)");
    }

    /** L2 norm, in double. */
    public double norm() {
        double s = 0;
        for (float v : values) s += (double) v * v;
        return Math.sqrt(s);
    }

    public int size() {
        return values.length;
    }
}
