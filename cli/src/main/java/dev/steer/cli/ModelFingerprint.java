package dev.steer.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Identity of a checkpoint for the results store: SHA-256 over everything that changes what the model answers.
 * <ul>
 *   <li>config.json, and the tokenizer and chat-template files when present ({@link #TEXT_FILES}): the same weights
 *       under another tokenizer or template answer differently;</li>
 *   <li>for every *.safetensors file in name order: its name, size and header (each tensor's dtype, shape and
 *       offsets), and a sample of every tensor's values: its first and last {@link #SAMPLE_BYTES} bytes.</li>
 * </ul>
 * The sample makes two checkpoints with one layout but other values (a fine-tune, a re-quantisation) differ while
 * reading about 128 KiB per tensor: some 37 MB of gemma-2-2b's 10 GB. Weights edited only in the middle of a large
 * tensor would still collide; the store records the path next to it.
 */
final class ModelFingerprint {
    /** Form of the digest; part of it, so fingerprints of another form never match (runs keyed by them are not reused). */
    static final String FORM = "steer-model-fingerprint/2";
    static final int SAMPLE_BYTES = 64 * 1024;
    static final List<String> TEXT_FILES = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja",
            "chat_template.json");

    private ModelFingerprint() {
    }

    static String of(Path dir) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            field(sha, FORM.getBytes(StandardCharsets.UTF_8));
            for (String name : TEXT_FILES) {
                Path f = dir.resolve(name);
                field(sha, name.getBytes(StandardCharsets.UTF_8));
                field(sha, Files.isRegularFile(f) ? Files.readAllBytes(f) : new byte[0]);
            }
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path f : files) safetensors(sha, f);
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new BadInputException("--model " + dir + ": cannot read its files to fingerprint it: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    /** Name, size, header and every tensor's first and last {@link #SAMPLE_BYTES} (the whole tensor when smaller). */
    private static void safetensors(MessageDigest sha, Path f) throws IOException {
        field(sha, f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            field(sha, Long.toString(size).getBytes(StandardCharsets.UTF_8));
            if (size < 8) return;
            long n = read(ch, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            // The loader has checked the header by now; a header the fingerprint cannot follow is still hashed whole.
            if (n <= 0 || n > Math.min(size - 8, 100_000_000)) return;
            byte[] header = new byte[(int) n];
            read(ch, 8, (int) n).get(header);
            field(sha, header);
            for (long[] range : dataRanges(header)) {
                long start = 8 + n + range[0], end = 8 + n + range[1];
                if (range[0] < 0 || end > size || start > end) continue;
                if (end - start <= 2L * SAMPLE_BYTES) {
                    sample(sha, ch, start, (int) (end - start));
                } else {
                    sample(sha, ch, start, SAMPLE_BYTES);
                    sample(sha, ch, end - SAMPLE_BYTES, SAMPLE_BYTES);
                }
            }
        }
    }

    /** Each tensor's data_offsets, in header order (JSON object order is the file's). */
    private static List<long[]> dataRanges(byte[] header) {
        List<long[]> out = new ArrayList<>();
        JsonElement root;
        try {
            root = JsonParser.parseString(new String(header, StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            return out;
        }
        if (!root.isJsonObject()) return out;
        for (Map.Entry<String, JsonElement> e : root.getAsJsonObject().entrySet()) {
            if (e.getKey().equals("__metadata__") || !e.getValue().isJsonObject()) continue;
            JsonObject t = e.getValue().getAsJsonObject();
            if (!t.has("data_offsets") || !t.get("data_offsets").isJsonArray() || t.getAsJsonArray("data_offsets").size() != 2) continue;
            try {
                out.add(new long[] {t.getAsJsonArray("data_offsets").get(0).getAsLong(), t.getAsJsonArray("data_offsets").get(1).getAsLong()});
            } catch (RuntimeException ignored) {
                // not numbers: the loader refuses such a file; nothing to sample
            }
        }
        return out;
    }

    private static void sample(MessageDigest sha, FileChannel ch, long at, int len) throws IOException {
        sha.update(read(ch, at, len));
    }

    private static ByteBuffer read(FileChannel ch, long at, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len);
        while (b.hasRemaining()) {
            int got = ch.read(b, at + b.position());
            if (got < 0) break;
        }
        return b.flip();
    }

    /** Length-prefixed, so no two sequences of fields share an encoding. */
    private static void field(MessageDigest sha, byte[] bytes) {
        sha.update((bytes.length + ":").getBytes(StandardCharsets.UTF_8));
        sha.update(bytes);
    }
}
