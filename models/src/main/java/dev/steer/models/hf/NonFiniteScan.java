package dev.steer.models.hf;

import java.nio.ByteBuffer;

/**
 * Finds NaN and infinity in stored weights without converting them: an element is non-finite when its exponent
 * bits are all ones, whatever the dtype. Eight bytes are tested at once (every lane's exponent against the
 * all-ones pattern, with the zero-lane test of "Bit Twiddling Hacks"), and only a flagged word is looked at
 * element by element, so a scan runs at about the speed memory can be read.
 */
final class NonFiniteScan {
    private NonFiniteScan() {}

    /** Index of the first non-finite element of {@code bytes} (little-endian elements of {@code dtype}), or -1. */
    static int first(ByteBuffer bytes, StoredDtype dtype) {
        long mask, low, high;
        switch (dtype) {
            case F32 -> { mask = 0x7f8000007f800000L; low = 0x0000000100000001L; high = 0x8000000080000000L; }
            case BF16 -> { mask = 0x7f807f807f807f80L; low = 0x0001000100010001L; high = 0x8000800080008000L; }
            case F16 -> { mask = 0x7c007c007c007c00L; low = 0x0001000100010001L; high = 0x8000800080008000L; }
            case F64 -> { mask = 0x7ff0000000000000L; low = 1L; high = 0x8000000000000000L; }
            default -> { return -1; }   // integers are always finite
        }
        int width = dtype.bytes, n = bytes.remaining() / width, words = bytes.remaining() / 8;
        for (int w = 0; w < words; w++) {
            // y's lane is zero exactly where the exponent is all ones; lanes never have their top bit set.
            long y = (bytes.getLong(w * 8) & mask) ^ mask;
            if (((y - low) & ~y & high) != 0) {
                int at = firstIn(bytes, dtype, w * 8 / width, (w + 1) * 8 / width);
                if (at >= 0) return at;
            }
        }
        return firstIn(bytes, dtype, words * 8 / width, n);
    }

    private static int firstIn(ByteBuffer b, StoredDtype dtype, int from, int to) {
        for (int i = from; i < to; i++) {
            boolean bad = switch (dtype) {
                case F32 -> (b.getInt(i * 4) & 0x7f800000) == 0x7f800000;
                case BF16 -> (b.getShort(i * 2) & 0x7f80) == 0x7f80;
                case F16 -> (b.getShort(i * 2) & 0x7c00) == 0x7c00;
                case F64 -> (b.getLong(i * 8) & 0x7ff0000000000000L) == 0x7ff0000000000000L;
                default -> false;
            };
            if (bad) return i;
        }
        return -1;
    }
}
