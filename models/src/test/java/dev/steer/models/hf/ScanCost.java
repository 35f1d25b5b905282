package dev.steer.models.hf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Not a test: the cost of {@link Checkpoint#requireFinite} (the load-time NaN/Inf scan) on a random bf16 checkpoint it
 * writes, against a plain one-thread read of the same mapped bytes (the floor) and the bf16 -> float32 conversion every
 * load does anyway (the peer), in the same run. Usage: ScanCost DIR TENSORS ELEMENTS_PER_TENSOR (BENCHMARKS.md).
 */
public final class ScanCost {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        int tensors = Integer.parseInt(a[1]);
        long elems = Long.parseLong(a[2]);   // per tensor
        Files.createDirectories(dir);
        Path st = dir.resolve("model.safetensors");
        StringBuilder h = new StringBuilder("{");
        for (int t = 0; t < tensors; t++) {
            if (t > 0) h.append(',');
            h.append("\"t").append(t).append("\":{\"dtype\":\"BF16\",\"shape\":[").append(elems).append("],\"data_offsets\":[")
             .append(t * elems * 2).append(',').append((t + 1) * elems * 2).append("]}");
        }
        h.append('}');
        byte[] hb = h.toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel c = FileChannel.open(st, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, hb.length);
            c.write(len); c.write(ByteBuffer.wrap(hb));
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 24).order(ByteOrder.LITTLE_ENDIAN);
            Random r = new Random(1);
            long total = tensors * elems * 2;
            for (long w = 0; w < total; ) {
                chunk.clear();
                int n = (int) Math.min(chunk.capacity(), total - w);
                for (int i = 0; i < n; i += 2) chunk.putShort(i, (short) (Float.floatToIntBits((float) r.nextGaussian() * 0.02f) >>> 16));
                chunk.limit(n);
                while (chunk.hasRemaining()) c.write(chunk);
                w += n;
            }
        }
        Files.writeString(dir.resolve("config.json"), "{}");
        double gb = tensors * elems * 2 / 1e9;
        List<String> names = new ArrayList<>();
        for (int t = 0; t < tensors; t++) names.add("t" + t);
        try (Checkpoint ck = Checkpoint.open(dir)) {
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                long sum = 0;
                ByteBuffer plain = ByteBuffer.allocateDirect(8 << 20).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                try (SafetensorsFile f = SafetensorsFile.open(st)) {
                    for (String n : names) {
                        long e = f.tensor(n).elementCount();
                        for (long off = 0; off < e; ) {
                            int count = (int) Math.min(e - off, plain.capacity() / 2);
                            plain.clear().limit(count * 2);
                            f.read(off * 2 + (names.indexOf(n) * elems * 2), plain);
                            int words = count * 2 / 8;
                            for (int i = 0; i < words; i++) sum += plain.getLong(i * 8);
                            off += count;
                        }
                    }
                }
                long t1 = System.nanoTime();
                ck.requireFinite(names);
                long t2 = System.nanoTime();
                float[] buf = new float[1 << 22];
                for (String n : names) {
                    var t = ck.tensor(n);
                    for (long off = 0; off < t.elementCount(); off += buf.length)
                        t.readFloats(off, java.nio.FloatBuffer.wrap(buf, 0, (int) Math.min(buf.length, t.elementCount() - off)));
                }
                long t3 = System.nanoTime();
                System.out.printf("rep %d: %.2f GB bf16: plain read (1 thread) %.3f s (%.1f GB/s), requireFinite %.3f s (%.1f GB/s, %d threads), bf16->f32 conversion (1 thread) %.3f s  [%d]%n",
                        rep, gb, (t1 - t0) / 1e9, gb / ((t1 - t0) / 1e9), (t2 - t1) / 1e9, gb / ((t2 - t1) / 1e9),
                        java.util.concurrent.ForkJoinPool.commonPool().getParallelism() + 1, (t3 - t2) / 1e9, sum & 1);
            }
        }
    }
}
