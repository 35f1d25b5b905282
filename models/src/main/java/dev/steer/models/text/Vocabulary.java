package dev.steer.models.text;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.steer.engine.BadInputException;
import dev.steer.engine.JsonErrorText;
import dev.steer.models.hf.InputFiles;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Token spelling ↔ id, read from {@code tokenizer.json} ({@code model.vocab} plus {@code added_tokens}),
 * because DJL's tokenizer does not expose its vocabulary. Read with a streaming parser so the merges list
 * (hundreds of thousands of entries for Gemma) is skipped, not materialised.
 */
final class Vocabulary {
    private final Map<String, Integer> ids;
    private final String[] tokens;

    private Vocabulary(Map<String, Integer> ids) {
        this.ids = ids;
        int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        this.tokens = new String[size];
        ids.forEach((token, id) -> tokens[id] = token);
    }

    static Vocabulary read(Path file) {
        Map<String, Integer> ids = new HashMap<>();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             JsonReader json = new JsonReader(in)) {
            json.beginObject();
            while (json.hasNext()) {
                switch (json.nextName()) {
                    case "model" -> readModel(json, ids);
                    case "added_tokens" -> readAddedTokens(json, ids);
                    default -> json.skipValue();
                }
            }
            json.endObject();
        } catch (java.nio.file.FileSystemException e) {
            throw InputFiles.unreadable(file, e);
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new BadInputException("tokenizer file " + file + " is not valid tokenizer JSON: " + JsonErrorText.of(e), e);
        }
        if (ids.isEmpty()) {
            throw new BadInputException("tokenizer file " + file + " has no model.vocab");
        }
        return new Vocabulary(ids);
    }

    int size() {
        return tokens.length;
    }

    OptionalInt id(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    Optional<String> token(int id) {
        return id >= 0 && id < tokens.length ? Optional.ofNullable(tokens[id]) : Optional.empty();
    }

    private static void readModel(JsonReader json, Map<String, Integer> ids) throws IOException {
        json.beginObject();
        while (json.hasNext()) {
            if (!json.nextName().equals("vocab")) {
                json.skipValue();
            } else if (json.peek() == JsonToken.BEGIN_OBJECT) {
                // BPE, WordPiece, WordLevel: {"piece": id, ...}
                json.beginObject();
                while (json.hasNext()) {
                    ids.putIfAbsent(json.nextName(), json.nextInt());
                }
                json.endObject();
            } else {
                // Unigram: [["piece", score], ...], the id is the position
                json.beginArray();
                for (int id = 0; json.hasNext(); id++) {
                    json.beginArray();
                    ids.putIfAbsent(json.nextString(), id);
                    json.skipValue();
                    json.endArray();
                }
                json.endArray();
            }
        }
        json.endObject();
    }

    private static void readAddedTokens(JsonReader json, Map<String, Integer> ids) throws IOException {
        json.beginArray();
        while (json.hasNext()) {
            String content = null;
            int id = -1;
            json.beginObject();
            while (json.hasNext()) {
                switch (json.nextName()) {
                    case "id" -> id = json.nextInt();
                    case "content" -> content = json.nextString();
                    default -> json.skipValue();
                }
            }
            json.endObject();
            if (content != null && id >= 0) {
                // An added token wins over a model piece of the same spelling, as in the tokenizers library.
                ids.put(content, id);
            }
        }
        json.endArray();
    }
}
