package dev.steer.engine.judge;

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
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny-trait-classifier fixture (a real exported sequence classifier) against reference.json: token ids,
 * logits and p(positive) computed by the exporting framework.
 */
class OnnxJudgeTest {

    record Case(String text, int[] ids, double[] logits, double pPositive) {
    }

    private static Path fixture;
    private static List<Case> cases;
    private static Map<String, int[]> idsByText;
    private static OnnxJudge judge;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        fixture = Path.of(OnnxJudgeTest.class.getResource("/fixtures/tiny-trait-classifier").toURI());
        JsonObject ref = JsonParser.parseString(Files.readString(fixture.resolve("reference.json"))).getAsJsonObject();
        cases = new ArrayList<>();
        idsByText = new HashMap<>();
        for (JsonElement e : ref.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            Case k = new Case(c.get("text").getAsString(), ints(c.getAsJsonArray("ids")),
                    doubles(c.getAsJsonArray("logits")), c.get("p_positive").getAsDouble());
            cases.add(k);
            idsByText.put(k.text(), k.ids());
        }
        assertEquals(4, cases.size());
        judge = OnnxJudge.open(fixture, null, OnnxJudgeTest::referenceIds);
    }

    @AfterAll
    static void close() {
        judge.close();
    }

    /** The reference tokenizer's output, looked up by text (tokenization lives in the models module). */
    private static int[] referenceIds(String text) {
        int[] ids = idsByText.get(text);
        if (ids == null) {
            throw new AssertionError("no reference ids for " + text);
        }
        return ids;
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static double[] doubles(JsonArray a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsDouble();
        }
        return out;
    }

    private static List<JudgeItem> items(List<Case> cs) {
        return cs.stream().map(c -> new JudgeItem("prompt unused by a classifier", "q", c.text())).toList();
    }

    @Test
    void logitsMatchReferenceOneAtATime() {
        for (Case c : cases) {
            double[][] got = judge.logits(List.of(c.ids()));
            assertArrayEquals(c.logits(), got[0], 1e-4, c.text());
        }
    }

    @Test
    void logitsMatchReferenceInOnePaddedBatch() {
        // Lengths 18, 16, 8, 14: the shorter rows are padded, so this checks the attention mask is honoured.
        double[][] got = judge.logits(cases.stream().map(Case::ids).toList());
        for (int i = 0; i < cases.size(); i++) {
            assertArrayEquals(cases.get(i).logits(), got[i], 1e-4, cases.get(i).text());
        }
    }

    @Test
    void scoreIsHundredTimesProbabilityOfLabelOne() {
        assertEquals("positive", judge.label());
        List<OptionalDouble> s = judge.score(items(cases));
        for (int i = 0; i < cases.size(); i++) {
            assertEquals(100 * cases.get(i).pPositive(), s.get(i).orElseThrow(), 1e-3, cases.get(i).text());
        }
        // The fixture separates the traits: hopeful text above 60, gloomy below 20.
        assertTrue(s.get(0).getAsDouble() > 60 && s.get(1).getAsDouble() < 20);
    }

    @Test
    void batchesBeyondSixteenKeepOrder() {
        List<Case> many = new ArrayList<>();
        for (int r = 0; r < 5; r++) {
            many.addAll(cases);
        }
        List<OptionalDouble> s = judge.score(items(many));
        assertEquals(20, s.size());
        for (int i = 0; i < many.size(); i++) {
            assertEquals(100 * many.get(i).pPositive(), s.get(i).orElseThrow(), 1e-3, "row " + i);
        }
    }

    @Test
    void namedLabelScoresItsOwnProbability() {
        try (OnnxJudge negative = OnnxJudge.open(fixture, "negative", OnnxJudgeTest::referenceIds)) {
            List<OptionalDouble> s = negative.score(items(cases));
            for (int i = 0; i < cases.size(); i++) {
                assertEquals(100 * (1 - cases.get(i).pPositive()), s.get(i).orElseThrow(), 1e-3);
            }
            assertTrue(negative.id().endsWith("#negative"), negative.id());
            assertTrue(!negative.id().equals(judge.id()));
        }
    }

    @Test
    void emptyTokenizationIsUnscored() {
        try (OnnxJudge j = OnnxJudge.open(fixture, null, text -> text.isEmpty() ? new int[0] : referenceIds(text))) {
            List<OptionalDouble> s = j.score(List.of(new JudgeItem("p", "q", ""),
                    new JudgeItem("p", "q", cases.get(2).text())));
            assertTrue(s.get(0).isEmpty());
            assertEquals(100 * cases.get(2).pPositive(), s.get(1).orElseThrow(), 1e-3);
        }
    }

    @Test
    void softmaxIsStableForLargeLogits() {
        double[] p = OnnxJudge.softmax(new double[]{1000, 1000 + Math.log(3)});
        assertEquals(0.25, p[0], 1e-12);
        assertEquals(0.75, p[1], 1e-12);
    }

    @Test
    void missingModelIsNamed(@TempDir Path dir) throws IOException {
        Files.copy(fixture.resolve("config.json"), dir.resolve("config.json"));
        BadInputException e = assertThrows(BadInputException.class, () -> OnnxJudge.open(dir, null, t -> new int[]{2}));
        assertTrue(e.getMessage().contains(dir.resolve("model.onnx").toString()), e.getMessage());
    }

    @Test
    void missingConfigIsNamed(@TempDir Path dir) throws IOException {
        Files.copy(fixture.resolve("model.onnx"), dir.resolve("model.onnx"));
        BadInputException e = assertThrows(BadInputException.class, () -> OnnxJudge.open(dir, null, t -> new int[]{2}));
        assertTrue(e.getMessage().contains(dir.resolve("config.json").toString()), e.getMessage());
    }

    @Test
    void configWithoutId2LabelIsNamed(@TempDir Path dir) throws IOException {
        Files.copy(fixture.resolve("model.onnx"), dir.resolve("model.onnx"));
        Files.writeString(dir.resolve("config.json"), "{\"problem_type\": \"single_label_classification\"}");
        BadInputException e = assertThrows(BadInputException.class, () -> OnnxJudge.open(dir, null, t -> new int[]{2}));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("id2label"), e.getMessage());
    }

    @Test
    void unreadableModelIsNamed(@TempDir Path dir) throws IOException {
        Files.copy(fixture.resolve("config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("model.onnx"), "not a model");
        BadInputException e = assertThrows(BadInputException.class, () -> OnnxJudge.open(dir, null, t -> new int[]{2}));
        assertTrue(e.getMessage().contains(dir.resolve("model.onnx").toString()), e.getMessage());
    }

    @Test
    void unknownLabelListsTheKnownOnes() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> OnnxJudge.open(fixture, "sycophantic", OnnxJudgeTest::referenceIds));
        assertTrue(e.getMessage().contains("sycophantic"), e.getMessage());
        assertTrue(e.getMessage().contains("positive") && e.getMessage().contains("negative"), e.getMessage());
    }
}
