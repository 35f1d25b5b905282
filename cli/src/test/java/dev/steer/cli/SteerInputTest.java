package dev.steer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Steering values that cannot run, and a vector path that is a directory: one line, exit 2, nothing on stdout. */
class SteerInputTest {
    @TempDir
    Path tmp;

    static final String VECTOR = "../models/src/test/resources/fixtures/steering-vector.json";

    private static void badInput(CliRun r, String... words) {
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        for (String w : words) assertTrue(r.err().contains(w), r.err());
    }

    @Test
    void aCoefThatOverflowsFloat32IsRefused() {
        badInput(CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "x", "--steer", "1:1e300:" + VECTOR),
                "--steer", "1.0E300", "overflows float32");
    }

    @Test
    void aRatioThatOverflowsFloat32IsRefusedInTheRatiosTerms() {
        CliRun r = CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "x", "--steer", "1:ratio=1e308:" + VECTOR);
        badInput(r, "--steer: ratio 1.0E308 at layer 1", "|ratio| x ||h|| = ", "overflows float32");
        assertFalse(r.err().contains("Infinity is not a finite number"), r.err());
    }

    @Test
    void aDirectoryIsNotAVectorFile() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("v.json"));
        badInput(CliRun.of("generate", "--model", CliRun.TINY.toString(), "--prompt", "x", "--steer", "1:1:" + dir),
                dir.toString(), "is a directory");
    }
}
