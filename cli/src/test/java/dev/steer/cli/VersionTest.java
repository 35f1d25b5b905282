package dev.steer.cli;

import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code steer -V} / {@code --version}: the version and the commit the build was made from. */
class VersionTest {
    static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) p.setProperty(kv[i], kv[i + 1]);
        return p;
    }

    @Test
    void commitLineFromGitProperties() {
        assertEquals("commit 1a2b3c4 of 2026-12-01T23:51:14Z",
                Steer.Version.commit(props("git.commit.id.abbrev", "1a2b3c4", "git.commit.time", "2026-12-01T23:51:14Z", "git.dirty", "false")));
        assertEquals("commit 1a2b3c4+dirty", Steer.Version.commit(props("git.commit.id.abbrev", "1a2b3c4", "git.dirty", "true")));
        // Built outside a git checkout (a source tarball): the plugin writes no commit, the line says so.
        assertEquals("commit unknown", Steer.Version.commit(props("git.build.version", "0.1.0")));
        assertEquals("commit unknown", Steer.Version.commit(new Properties()));
    }

    @Test
    void dashVAndVersionPrintVersionAndTheBuildsCommit() {
        // This build ran the plugin over this checkout: the line names the checkout's version and commit. Only a
        // build outside git (no ../.git: a source tarball) has none to name.
        assumeTrue(java.nio.file.Files.exists(java.nio.file.Path.of("../.git")), "not a git checkout");
        Properties git = Steer.Version.gitProperties();
        String id = git.getProperty("git.commit.id.abbrev");
        assertTrue(id != null && id.matches("[0-9a-f]{7,}"), "git.properties in the build: " + git);
        // The commit of this checkout (a linked worktree too, where the plugin once used named the main one's).
        assertEquals(headOfThisCheckout(), git.getProperty("git.commit.id"));
        assertTrue(git.getProperty("git.commit.id").startsWith(id));
        for (String[] args : new String[][] {{"-V"}, {"--version"}, {"generate", "-V"}, {"export", "--version"}, {"vector", "info", "-V"}, {"vector", "convert", "--version"}}) {
            CliRun r = CliRun.of(args);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().strip().matches("steer " + java.util.regex.Pattern.quote(git.getProperty("git.build.version"))
                    + " \\(commit " + id + "(\\+dirty)? of \\S+\\)"), r.out());
        }
    }

    static String headOfThisCheckout() {
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            assertEquals(0, p.waitFor(), out);
            return out;
        } catch (java.io.IOException | InterruptedException e) {
            org.junit.jupiter.api.Assumptions.abort("no git to ask: " + e);
            return null;
        }
    }
}
