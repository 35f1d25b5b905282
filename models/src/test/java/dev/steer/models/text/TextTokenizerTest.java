package dev.steer.models.text;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextTokenizerTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures");
    static final Path TINY_GEMMA = FIXTURES.resolve("tiny-gemma2");
    static final int BOS = 2;

    private static TextTokenizer tokenizer;

    @BeforeAll
    static void open() {
        tokenizer = TextTokenizer.open(TINY_GEMMA);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    /** (text, ids) pairs produced by Hugging Face tokenizers, from both fixtures that use this tokenizer. */
    static List<Object[]> references() throws IOException {
        List<Object[]> cases = new ArrayList<>();
        JsonObject gemma = json(FIXTURES.resolve("tiny-gemma2.reference.json"));
        for (JsonElement p : gemma.getAsJsonArray("prompts")) {
            cases.add(new Object[] {p.getAsJsonObject().get("text").getAsString(), ids(p.getAsJsonObject().getAsJsonArray("ids"))});
        }
        JsonObject classifier = json(FIXTURES.resolve("tiny-trait-classifier.reference.json"));
        for (JsonElement c : classifier.getAsJsonArray("cases")) {
            cases.add(new Object[] {c.getAsJsonObject().get("text").getAsString(), ids(c.getAsJsonObject().getAsJsonArray("ids"))});
        }
        return cases;
    }

    @Test
    void encodeMatchesHuggingFaceIdsForEveryReferencePrompt() throws IOException {
        List<Object[]> cases = references();
        assertEquals(8, cases.size());
        for (Object[] c : cases) {
            assertArrayEquals((int[]) c[1], tokenizer.encode((String) c[0]), "ids of \"" + c[0] + "\"");
        }
    }

    @Test
    void encodeNoSpecialIsEncodeWithoutTheBos() throws IOException {
        for (Object[] c : references()) {
            int[] withBos = (int[]) c[1];
            assertEquals(BOS, withBos[0]);
            assertArrayEquals(Arrays.copyOfRange(withBos, 1, withBos.length), tokenizer.encodeNoSpecial((String) c[0]));
            assertArrayEquals(withBos, tokenizer.encode((String) c[0], true));
        }
    }

    @Test
    void decodeRoundTripsEveryPrompt() throws IOException {
        List<String> texts = new ArrayList<>();
        references().forEach(c -> texts.add((String) c[0]));
        JsonObject meanDiff = json(FIXTURES.resolve("tiny-gemma2.reference.json")).getAsJsonObject("mean_diff");
        for (String side : List.of("positive", "negative")) {
            meanDiff.getAsJsonArray(side).forEach(t -> texts.add(t.getAsString()));
        }
        assertEquals(16, texts.size());
        int unknown = tokenizer.tokenId("<unk>").orElseThrow();
        int withUnknown = 0;
        for (String text : texts) {
            int[] ids = tokenizer.encode(text);
            assertEquals(BOS, ids[0]);
            if (Arrays.stream(ids).anyMatch(id -> id == unknown)) {
                withUnknown++;
                continue;
            }
            assertEquals(text, tokenizer.decode(ids));
            assertEquals("<bos>" + text, tokenizer.decodeRaw(ids));
        }
        assertEquals(1, withUnknown, "only \"You are always right.\" has a letter (Y) outside the tiny vocabulary");
    }

    @Test
    void unknownPiecesAreSpecialAndDecodeDropsThem() {
        int[] ids = tokenizer.encode("You are always right.");
        assertArrayEquals(new int[] {2, 3, 76, 328, 374, 345, 235, 49, 12}, ids);
        assertEquals("ou are always right.", tokenizer.decode(ids));
        assertEquals("<bos><unk>ou are always right.", tokenizer.decodeRaw(ids));
    }

    @Test
    void longTextIsNotTruncated() throws IOException {
        // 30 copies of reference prompt 2 (no unknown pieces): ~800 tokens, past DJL's default cut at 512.
        // Pieces merge across the joining spaces, so the exact count is not 30x; decoding back to the
        // whole text shows nothing was cut.
        String one = (String) references().get(2)[0];
        String text = String.join(" ", java.util.Collections.nCopies(30, one));
        int[] ids = tokenizer.encode(text);
        assertTrue(ids.length > 600, "only " + ids.length + " tokens");
        assertEquals(BOS, ids[0]);
        assertEquals(text, tokenizer.decode(ids));
        assertArrayEquals(Arrays.copyOfRange(ids, 1, ids.length), tokenizer.encodeNoSpecial(text));
    }

    @Test
    void vocabularyLookups() {
        assertEquals(384, tokenizer.vocabSize());
        assertEquals(OptionalInt.of(0), tokenizer.tokenId("<pad>"));
        assertEquals(OptionalInt.of(1), tokenizer.tokenId("<eos>"));
        assertEquals(OptionalInt.of(2), tokenizer.tokenId("<bos>"));
        assertEquals(OptionalInt.of(4), tokenizer.tokenId("<start_of_turn>"));
        assertEquals(OptionalInt.of(5), tokenizer.tokenId("<end_of_turn>"));
        assertEquals(OptionalInt.empty(), tokenizer.tokenId("no such token"));
        assertEquals("<end_of_turn>", tokenizer.token(5));
        // Every id maps to a piece that maps back, and the pieces of a prompt spell out the prompt.
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            assertEquals(OptionalInt.of(id), tokenizer.tokenId(tokenizer.token(id)));
        }
        StringBuilder spelled = new StringBuilder();
        for (int id : tokenizer.encodeNoSpecial("The river runs past the old mill")) {
            spelled.append(tokenizer.token(id));
        }
        assertEquals("The▁river▁runs▁past▁the▁old▁mill", spelled.toString());
    }

    @Test
    void idOutsideTheVocabularyIsBadInput() {
        BadInputException e = assertThrows(BadInputException.class, () -> tokenizer.token(384));
        assertTrue(e.getMessage().contains("384"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> tokenizer.decode(new int[] {2, -1}));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
    }

    @Test
    void missingTokenizerJsonNamesTheFile(@TempDir Path dir) {
        BadInputException e = assertThrows(BadInputException.class, () -> TextTokenizer.open(dir));
        assertTrue(e.getMessage().contains(dir.resolve("tokenizer.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void corruptTokenizerJsonNamesTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": {\"vocab\": {\"a\": 0}}, \"added_tokens\": [");
        BadInputException e = assertThrows(BadInputException.class, () -> TextTokenizer.open(dir));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());

        // Valid JSON that the tokenizers library rejects (no model type).
        Files.writeString(file, "{\"model\": {\"vocab\": {\"a\": 0}}, \"added_tokens\": []}");
        e = assertThrows(BadInputException.class, () -> TextTokenizer.open(dir));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    static JsonObject json(Path file) throws IOException {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }

    static int[] ids(JsonArray array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).getAsInt();
        }
        return out;
    }
}
