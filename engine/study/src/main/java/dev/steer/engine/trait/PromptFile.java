package dev.steer.engine.trait;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import dev.steer.engine.BadInputException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Prompts from a file, for {@code --positive}, {@code --negative} and {@code --prompts}. A {@code .json} file is a
 * JSON array of strings (the way to write prompts that span lines); any other file holds one prompt per line, with
 * blank lines skipped and every other line kept exactly as written (leading and trailing spaces included, since
 * they change tokenization).
 */
public final class PromptFile {
    private PromptFile() {
    }

    public static List<String> read(Path file) {
        if (Files.isDirectory(file))
            throw new BadInputException(file + ": is a directory, not a prompt file");
        String text = TextFile.read(file);
        List<String> prompts = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")
                ? fromJson(text, file) : fromLines(text);
        if (prompts.isEmpty())
            throw new BadInputException(file + ": has no prompts; give a JSON array of strings (.json) or one prompt per line");
        return prompts;
    }

    private static List<String> fromJson(String text, Path file) {
        JsonElement root = StrictJson.parse(text, file.toString());
        if (!root.isJsonArray())
            throw new BadInputException(file + ": a .json prompt file must be a JSON array of strings");
        JsonArray array = root.getAsJsonArray();
        List<String> prompts = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            if (!(array.get(i) instanceof JsonPrimitive p) || !p.isString())
                throw new BadInputException(file + ": element [" + i + "] is not a string");
            if (p.getAsString().isBlank())
                throw new BadInputException(file + ": element [" + i + "] is an empty prompt");
            prompts.add(p.getAsString());
        }
        return prompts;
    }

    private static List<String> fromLines(String text) {
        return text.lines().filter(line -> !line.isBlank()).toList();
    }
}
