package dev.steer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The fingerprint covers weight values (each tensor's first and last 64 KiB), the tokenizer and the chat template,
 * not only config.json and the safetensors header (which two checkpoints of one layout share).
 */
class ModelFingerprintTest {
    @TempDir
    Path tmp;

    static final int BIG = 1 << 20;   // a 1 MiB tensor: sampled at both ends, its middle not read

    /** config.json, tokenizer files, and one safetensors file with a small and a 1 MiB tensor whose bytes are i*7. */
    Path checkpoint(String name) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\":\"gemma2\"}");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\":{\"vocab\":{}}}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\":\"{{ messages }}\"}");
        String header = "{\"small\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},"
                + "\"big\":{\"dtype\":\"U8\",\"shape\":[" + BIG + "],\"data_offsets\":[16," + (16 + BIG) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        for (int i = 0; i < 16 + BIG; i++) out.write(i * 7);
        Files.write(dir.resolve("model.safetensors"), out.toByteArray());
        return dir;
    }

    static void poke(Path file, long dataOffset) throws Exception {
        byte[] b = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        int at = (int) (8 + headerLen + dataOffset);
        b[at] ^= 1;
        Files.write(file, b);
    }

    @Test
    void weightValuesTokenizerAndTemplateChangeTheFingerprint() throws Exception {
        String base = ModelFingerprint.of(checkpoint("base"));
        assertEquals(base, ModelFingerprint.of(checkpoint("same")), "equal files, equal fingerprint (the path is not in it)");

        Path small = checkpoint("small");
        poke(small.resolve("model.safetensors"), 5);
        assertNotEquals(base, ModelFingerprint.of(small), "a small tensor is read whole");

        Path head = checkpoint("head");
        poke(head.resolve("model.safetensors"), 16 + 1000);
        assertNotEquals(base, ModelFingerprint.of(head), "a big tensor's first 64 KiB");

        Path tail = checkpoint("tail");
        poke(tail.resolve("model.safetensors"), 16 + BIG - 3);
        assertNotEquals(base, ModelFingerprint.of(tail), "a big tensor's last 64 KiB");

        Path template = checkpoint("template");
        Files.writeString(template.resolve("tokenizer_config.json"), "{\"chat_template\":\"{{ other }}\"}");
        assertNotEquals(base, ModelFingerprint.of(template), "the chat template");

        Path tokenizer = checkpoint("tokenizer");
        Files.writeString(tokenizer.resolve("tokenizer.json"), "{\"model\":{\"vocab\":{\"a\":0}}}");
        assertNotEquals(base, ModelFingerprint.of(tokenizer), "the tokenizer");

        Path jinja = checkpoint("jinja");
        Files.writeString(jinja.resolve("chat_template.jinja"), "{{ messages }}");
        assertNotEquals(base, ModelFingerprint.of(jinja), "a chat_template.jinja file");

        // The documented limit of a sample: a change only in the middle of a large tensor is not seen.
        Path middle = checkpoint("middle");
        poke(middle.resolve("model.safetensors"), 16 + BIG / 2);
        assertEquals(base, ModelFingerprint.of(middle));
    }
}
