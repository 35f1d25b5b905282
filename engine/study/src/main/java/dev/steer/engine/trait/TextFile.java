package dev.steer.engine.trait;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads a user's text file as UTF-8, with errors that name the file. */
final class TextFile {
    private TextFile() {
    }

    static String read(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            // Editors on Windows often write a byte-order mark, which JSON parsers and tokenizers would see as text.
            return text.startsWith("\uFEFF") ? text.substring(1) : text;
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file", e);
        } catch (CharacterCodingException e) {
            throw new BadInputException(file + ": is not UTF-8 text", e);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }
}
