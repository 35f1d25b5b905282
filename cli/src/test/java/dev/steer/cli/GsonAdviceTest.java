package dev.steer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static dev.steer.cli.BadInputTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** A broken JSON file anywhere is one line naming the file and the position, never gson's advice to programmers. */
class GsonAdviceTest {
    @TempDir
    Path tmp;

    private Path modelWith(String file, String content) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "m-");
        try (Stream<Path> s = Files.list(CliRun.TINY)) {
            for (Path f : s.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        Files.writeString(dir.resolve(file), content);
        return dir;
    }

    private static void assertNoAdvice(CliRun r, String... names) {
        assertBad(r, names);
        for (String jargon : new String[] {"setStrictness", "setLenient", "gson", "https://", "MalformedJsonException", "path $"})
            assertFalse(r.err().contains(jargon), "'" + jargon + "' in: " + r.err());
    }

    private static CliRun generate(Path model) {
        return CliRun.of("generate", "--model", model.toString(), "--prompt", "hi", "--max-new-tokens", "1", "--chat");
    }

    @Test
    void modelFiles() throws IOException {
        for (String file : new String[] {"config.json", "tokenizer_config.json", "generation_config.json"}) {
            assertNoAdvice(generate(modelWith(file, "{\"a\": 1} trailing")), file, "line 1 column");
            assertNoAdvice(generate(modelWith(file, "{\"a\": [1, 2")), file, "line 1 column");
        }
        assertNoAdvice(generate(modelWith("tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 1")), "tokenizer.json", "line 1 column");
    }

    @Test
    void safetensorsHeaders() throws IOException {
        byte[] header = "{\"vector\": {\"dtype\": \"F32\"} x".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path vector = tmp.resolve("v.safetensors");
        Files.write(vector, b.array());
        assertNoAdvice(CliRun.of("ratio", "--model", CliRun.TINY.toString(), "--layer", "1", "--vector", vector.toString(), "--coef", "1",
                "--trait", "optimism"), "v.safetensors");
        Path model = modelWith("model.safetensors", "");
        Files.write(model.resolve("model.safetensors"), b.array());
        assertNoAdvice(generate(model), "model.safetensors");
    }
}
