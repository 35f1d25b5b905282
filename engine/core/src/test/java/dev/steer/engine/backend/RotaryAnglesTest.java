package dev.steer.engine.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import org.junit.jupiter.api.Test;

class RotaryAnglesTest {
    /** The definition, for one position: cos(p θ^(-2i/d)) then sin, in double, rounded once. */
    private static float[] direct(int p, int headDim, double theta) {
        float[] row = new float[headDim];
        for (int i = 0; i < headDim / 2; i++) {
            double angle = p * Math.pow(theta, -2.0 * i / headDim);
            row[i] = (float) Math.cos(angle);
            row[headDim / 2 + i] = (float) Math.sin(angle);
        }
        return row;
    }

    @Test
    void cachedRowsEqualTheDefinitionBitForBitAndTablesAreFreshArrays() {
        RotaryAngles a = new RotaryAngles(256, 10000.0);
        int[][] steps = {{0, 5, 5, 190}, {191, 6, 6, 0}, {RotaryAngles.CACHED_POSITIONS - 1, RotaryAngles.CACHED_POSITIONS, 40000, 7}};
        float[] previous = null;
        for (int[] positions : steps) {
            for (int round = 0; round < 2; round++) {   // the second round reads cached rows
                float[] t = a.table(positions);
                assertEquals(positions.length * 256, t.length);
                for (int r = 0; r < positions.length; r++) {
                    float[] want = direct(positions[r], 256, 10000.0);
                    float[] got = java.util.Arrays.copyOfRange(t, r * 256, (r + 1) * 256);
                    assertArrayEquals(want, got, "position " + positions[r] + ", round " + round);
                }
                if (previous != null) assertNotSame(previous, t);
                t[0] = Float.NaN;   // a caller writing into its table must not change the cache
                previous = t;
            }
        }
        assertEquals(1f, a.table(new int[] {0})[0]);
    }
}
