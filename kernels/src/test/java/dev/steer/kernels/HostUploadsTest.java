package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.junit.jupiter.api.Test;

/** The reused upload buffer: each upload lands whole, whatever came before it and however the buffer grew. */
class HostUploadsTest {
    @Test
    void uploadsOfMixedTypesAndGrowingSizesLandIntact() {
        EmulatedGpu gpu = new EmulatedGpu();
        try (HostUploads uploads = new HostUploads()) {
            // sizes below, at and above the first 4096-byte buffer, floats and ints alternating into one buffer
            int[] sizes = {3, 1024, 1, 5000, 17, 20000, 2};
            long[] dst = new long[sizes.length];
            Object[] sent = new Object[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                int n = sizes[i];
                dst[i] = gpu.allocate(4L * n);
                if (i % 2 == 0) {
                    float[] f = new float[n];
                    for (int j = 0; j < n; j++) f[j] = i * 1000.5f + j;
                    uploads.floats(gpu, dst[i], f);
                    sent[i] = f;
                } else {
                    int[] v = new int[n];
                    for (int j = 0; j < n; j++) v[j] = -i * 7 - j;
                    uploads.ints(gpu, dst[i], v);
                    sent[i] = v;
                }
            }
            // read back only after all of them: an earlier upload must not have been changed by a later one
            for (int i = 0; i < sizes.length; i++) {
                int n = sizes[i];
                if (sent[i] instanceof float[] f) {
                    float[] back = new float[n];
                    try (FloatPointer host = new FloatPointer(n)) {
                        gpu.download(host, dst[i], 4L * n);
                        host.get(back);
                    }
                    assertArrayEquals(f, back, "upload " + i);
                } else {
                    int[] back = new int[n];
                    try (IntPointer host = new IntPointer(n)) {
                        gpu.download(host, dst[i], 4L * n);
                        host.get(back);
                    }
                    assertArrayEquals((int[]) sent[i], back, "upload " + i);
                }
            }
            uploads.ints(gpu, dst[0], new int[0]);   // nothing to copy: no error
        } finally {
            gpu.close();
        }
    }
}
