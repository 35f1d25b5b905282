package dev.steer.engine.djl;

import dev.steer.models.LoadedModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * In place: a decode step's 105 products run back to back on the kernels against the model's own weight matrices (as
 * DjlBackend holds them, bf16 or float32 gemma-2-2b random weights), each round between the read passes over the same
 * matrices (three before and three after, one of each pattern, the fastest counting, as bench's floor); prints each
 * round and the median of pass time / products time. Shows whether the product loop alone
 * keeps up with the pass on the memory a step reads (tools/bench/gemv-rows.c does the same on its own allocations).
 *   mvn -B -ntp -q -pl cli -am -DskipTests package
 *   CP="engine/djl/target/classes:models/target/classes:cli/target/steer.jar:cli/target/lib/*"
 *   javac -d /tmp/insitu -cp "$CP" tools/bench/InSituProducts.java && java -cp "/tmp/insitu:$CP" dev.steer.engine.djl.InSituProducts [bf16]
 */
public class InSituProducts {
    public static void main(String[] args) throws Exception {
        boolean bf16 = args.length > 0 && args[0].equals("bf16");
        DjlBackend b = DjlBackend.cpu(bf16, 0);
        LoadedModel m = LoadedModel.random("gemma-2-2b", 1234, b);
        var f = DjlBackend.class.getDeclaredField("matrices"); f.setAccessible(true);
        @SuppressWarnings("unchecked") List<long[]> mats = (List<long[]>) f.get(b);
        var fi = DjlBackend.class.getDeclaredField("isa"); fi.setAccessible(true);
        int isa = fi.getInt(b);
        int[][] shapes = {{4096, 2304}, {2304, 2048}, {18432, 2304}, {2304, 9216}};
        int n = mats.size();
        long[] addr = new long[n], bytes = new long[n]; int[] rows = new int[n], cols = new int[n];
        for (int i = 0; i < n; i++) {
            addr[i] = mats.get(i)[0]; bytes[i] = mats.get(i)[1];
            if (i == 0) { rows[i] = 256000; cols[i] = 2304; } else { rows[i] = shapes[(i - 1) % 4][0]; cols[i] = shapes[(i - 1) % 4][1]; }
            if ((long) rows[i] * cols[i] * (bf16 ? 2 : 4) != bytes[i]) throw new IllegalStateException("shape " + i);
        }
        ByteBuffer x = ByteBuffer.allocateDirect(18432 * 4).order(ByteOrder.nativeOrder()), y = ByteBuffer.allocateDirect(256000 * 4).order(ByteOrder.nativeOrder());
        double total = 0; for (long v : bytes) total += v;
        // each matrix as the backend holds it: packed where it packed it (until 2026-12-03 this read every matrix row
        // by row, so on a packed backend it timed the row-by-row kernel over packed memory)
        var fp = DjlBackend.class.getDeclaredField("packed"); fp.setAccessible(true);
        @SuppressWarnings("unchecked") java.util.Set<Long> packed = (java.util.Set<Long>) fp.get(b);
        int[] wt = new int[n];
        for (int i = 0; i < n; i++) wt[i] = (bf16 ? CpuKernels.W_BF16 : CpuKernels.W_F32) | (packed.contains(addr[i]) ? CpuKernels.W_PACKED : 0);
        double[] r = new double[12]; int k = 0;
        for (int round = 0; round < 13; round++) {
            double p1 = CpuKernels.readRegions(isa, addr, bytes, 3);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) CpuKernels.gemv(isa, addr[i], wt[i], x, y, 1, rows[i], cols[i]);
            double s = (System.nanoTime() - t0) / 1e9;
            double p2 = CpuKernels.readRegions(isa, addr, bytes, 3);
            double pass = total / Math.max(p1, p2);
            if (round > 0) r[k++] = pass / s;
            System.out.printf("round %d: passes %.1f / %.1f GB/s, products %.1f GB/s = %.1f%%%n", round, p1 / 1e9, p2 / 1e9, total / s / 1e9, 100 * pass / s);
        }
        java.util.Arrays.sort(r);
        System.out.printf("median %.1f%%%n", 100 * r[6]);
    }
}
