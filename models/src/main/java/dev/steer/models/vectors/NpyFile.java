package dev.steer.models.vectors;

import dev.steer.engine.BadInputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * numpy's {@code .npy} (format 1.0 to 3.0): little- or big-endian f2/f4/f8, C or Fortran order, 1-D or a stack.
 */
final class NpyFile {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private NpyFile() {
    }

    static StoredArray read(Path file) {
        ByteBuffer b = VectorFile.map(file).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < MAGIC.length; i++)
            if (b.capacity() <= i || b.get(i) != MAGIC[i]) throw new BadInputException(file + ": not a .npy file (no \\x93NUMPY magic)");
        if (b.capacity() < 10) throw new BadInputException(file + ": truncated .npy file");
        int major = b.get(6);
        int headerLength, start;
        if (major == 1) {
            headerLength = b.getShort(8) & 0xffff;
            start = 10;
        } else if (major == 2 || major == 3) {
            if (b.capacity() < 12) throw new BadInputException(file + ": truncated .npy file");
            headerLength = b.getInt(8);
            start = 12;
        } else {
            throw new BadInputException(file + ": .npy format version " + major + " (steer reads 1 to 3)");
        }
        if (headerLength < 0 || start + (long) headerLength > b.capacity()) throw new BadInputException(file + ": truncated .npy header");
        byte[] h = new byte[headerLength];
        b.get(start, h);
        String header = new String(h, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) throw new BadInputException(file + ": .npy header lacks descr, fortran_order or shape: " + header.trim());
        String descr = d.group(1);
        ByteOrder order;
        if (descr.startsWith("<") || descr.startsWith("|") || descr.startsWith("=")) order = ByteOrder.LITTLE_ENDIAN;
        else if (descr.startsWith(">")) order = ByteOrder.BIG_ENDIAN;
        else throw new BadInputException(file + ": .npy dtype '" + descr + "' has no byte order");
        StoredArray.Element e = switch (descr.substring(1)) {
            case "f2" -> StoredArray.Element.F16;
            case "f4" -> StoredArray.Element.F32;
            case "f8" -> StoredArray.Element.F64;
            default -> throw new BadInputException(file + ": .npy dtype '" + descr + "' (steer reads float arrays: <f2, <f4, <f8)");
        };
        long[] shape = shape(file, s.group(1));
        boolean fortran = f.group(1).equals("True");
        ByteBuffer data = b.duplicate().position(start + headerLength).slice();
        return StoredArray.gather(file.toString(), e, data, order, 0, shape, fortran ? StoredArray.fortran(shape) : StoredArray.contiguous(shape));
    }

    private static long[] shape(Path file, String text) {
        String[] parts = text.split(",");
        int n = 0;
        long[] out = new long[parts.length];
        for (String p : parts) {
            if (p.isBlank()) continue;
            try {
                out[n++] = Long.parseLong(p.trim().replaceAll("L$", ""));
            } catch (NumberFormatException ex) {
                throw new BadInputException(file + ": .npy shape (" + text + ") is not a tuple of integers");
            }
        }
        if (n == 0) throw new BadInputException(file + ": .npy holds a scalar, not a vector");
        return java.util.Arrays.copyOf(out, n);
    }
}
