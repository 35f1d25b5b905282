import dev.steer.engine.backend.RotaryAngles;

/**
 * Host time of one decode step's rotary table (RotaryAngles.table) at batch 1, 8 and 64, headDim 256: best of 1800
 * steps after 200 of warm-up, positions moving as in a decode loop. Run from the repository root after a build:
 *   java -cp engine/core/target/classes tools/bench/RotaryTableBench.java
 */
public class RotaryTableBench {
    public static void main(String[] args) {
        RotaryAngles angles = new RotaryAngles(256, 10000.0);
        float sink = 0;
        for (int batch : new int[] {1, 8, 64}) {
            int[] positions = new int[batch];
            long best = Long.MAX_VALUE;
            for (int step = 0; step < 2000; step++) {
                for (int r = 0; r < batch; r++) positions[r] = 64 + step % 128 + r % 3;
                long t0 = System.nanoTime();
                float[] table = angles.table(positions);
                long dt = System.nanoTime() - t0;
                sink += table[5];
                if (step >= 200) best = Math.min(best, dt);
            }
            System.out.printf("batch %d: %.1f us per step (best of 1800)%n", batch, best / 1e3);
        }
        if (sink == 42) System.out.println();   // keeps the tables live
    }
}
