package dev.steer.cli;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Identity of a checkpoint for the results store: SHA-256 over config.json and, for every *.safetensors file in
 * name order, its name, size and header (the JSON that lists every tensor's dtype, shape and byte offsets).
 * Reading headers only keeps it instant on a multi-GB checkpoint. Two checkpoints with the same config and tensor
 * layout but different weight values would collide; the store records the path next to it.
 */
final class ModelFingerprint {
    private ModelFingerprint() {
    }

    static String of(Path dir) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(Files.readAllBytes(dir.resolve("config.json")));
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path f : files) {
                sha.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                sha.update(Long.toString(Files.size(f)).getBytes(StandardCharsets.UTF_8));
                try (InputStream in = Files.newInputStream(f)) {
                    byte[] len = in.readNBytes(8);
                    if (len.length < 8) continue;
                    long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
                    sha.update(in.readNBytes((int) Math.min(Math.max(n, 0), 100_000_000)));
                }
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new BadInputException("--model " + dir + ": cannot read its files to fingerprint it: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }
}
