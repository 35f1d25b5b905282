package dev.steer.engine.trait;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class PromptFileTest {
    @TempDir
    Path dir;

    @Test
    void linesSkipBlanksAndKeepEverythingElseVerbatim() throws IOException {
        Path file = write("prompts.txt", "\uFEFFTell me a story.\r\n\r\n   \n  Indented prompt \nLast line without newline");
        assertEquals(List.of("Tell me a story.", "  Indented prompt ", "Last line without newline"), PromptFile.read(file));
    }

    @Test
    void jsonArrayAllowsMultiLinePrompts() throws IOException {
        Path file = write("prompts.json", "[\"Question: Is it safe?\\nAnswer:\", \"Plain one\", \"[INST] brackets {ok}\"]");
        assertEquals(List.of("Question: Is it safe?\nAnswer:", "Plain one", "[INST] brackets {ok}"), PromptFile.read(file));
    }

    @Test
    void aTextFileStartingWithABracketIsStillLines() throws IOException {
        Path file = write("chat.txt", "[INST] hi [/INST]\n[INST] bye [/INST]\n");
        assertEquals(List.of("[INST] hi [/INST]", "[INST] bye [/INST]"), PromptFile.read(file));
    }

    @Test
    void emptyFilesAreNamed() throws IOException {
        for (Path file : List.of(write("empty.txt", ""), write("blank.txt", "\n  \n\t\n"), write("empty.json", " [ ] "))) {
            BadInputException e = assertThrows(BadInputException.class, () -> PromptFile.read(file));
            assertEquals(file + ": has no prompts; give a JSON array of strings (.json) or one prompt per line", e.getMessage());
        }
        Path nothing = write("nothing.json", "");
        BadInputException e = assertThrows(BadInputException.class, () -> PromptFile.read(nothing));
        assertEquals(nothing + ": the file is empty", e.getMessage());
    }

    @Test
    void jsonElementsMustBeNonEmptyStrings() throws IOException {
        Path number = write("n.json", "[\"ok\", 3]");
        assertEquals(number + ": element [1] is not a string",
                assertThrows(BadInputException.class, () -> PromptFile.read(number)).getMessage());
        Path blank = write("b.json", "[\"ok\", \"ok too\", \" \"]");
        assertEquals(blank + ": element [2] is an empty prompt",
                assertThrows(BadInputException.class, () -> PromptFile.read(blank)).getMessage());
        Path object = write("o.json", "{\"prompts\": [\"a\"]}");
        assertEquals(object + ": a .json prompt file must be a JSON array of strings",
                assertThrows(BadInputException.class, () -> PromptFile.read(object)).getMessage());
    }

    @Test
    void badJsonNamesFileAndLine() throws IOException {
        Path file = write("bad.json", "[\n  \"one\",\n  \"two\"\n  \"three\"\n]");
        BadInputException e = assertThrows(BadInputException.class, () -> PromptFile.read(file));
        assertTrue(e.getMessage().startsWith(file + ": invalid JSON at line 4 column "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void missingFileAndDirectoryAreNamed() {
        Path missing = dir.resolve("nope.txt");
        assertEquals(missing + ": no such file",
                assertThrows(BadInputException.class, () -> PromptFile.read(missing)).getMessage());
        assertEquals(dir + ": is a directory, not a prompt file",
                assertThrows(BadInputException.class, () -> PromptFile.read(dir)).getMessage());
    }

    @Test
    void nonUtf8IsNamed() throws IOException {
        Path file = dir.resolve("latin1.txt");
        Files.write(file, new byte[]{'c', 'a', 'f', (byte) 0xE9, '\n'});
        assertEquals(file + ": is not UTF-8 text",
                assertThrows(BadInputException.class, () -> PromptFile.read(file)).getMessage());
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
    }
}
