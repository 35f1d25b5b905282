package dev.steer.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --help} is the documentation: every command prints it cleanly (no picocli format warnings), exit 0. */
class HelpTest {
    @Test
    void everyCommandHasCleanHelp() {
        for (String cmd : new String[] {"info", "norms", "generate", "extract", "ratio", "sweep", "search", "report", "export", "bench"}) {
            java.io.ByteArrayOutputStream sysErr = new java.io.ByteArrayOutputStream();
            java.io.PrintStream old = System.err;
            System.setErr(new java.io.PrintStream(sysErr));
            CliRun r;
            try {
                r = CliRun.of(cmd, "--help");
            } finally {
                System.setErr(old);
            }
            assertEquals(0, r.code(), cmd);
            assertTrue(r.out().startsWith("Usage: steer " + cmd), cmd + ": " + r.out());
            assertFalse(sysErr.toString().contains("WARN") || r.err().contains("WARN"), cmd + " help warns: " + sysErr);
        }
    }
}
