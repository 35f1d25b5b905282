package dev.steer.engine.trait;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class TraitDatasetTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"refusal", "optimism", "sycophancy", "confidence"})
    void bundledTraitMeetsTheDatasetBar(String name) {
        TraitDataset t = TraitDataset.load(name);
        assertEquals(name, t.name());
        assertTrue(t.pairs().size() >= 40, name + " has " + t.pairs().size() + " pairs");
        assertTrue(t.questions().size() >= 20, name + " has " + t.questions().size() + " questions");
        assertFalse(t.description().isBlank());
        assertFalse(t.definitionHigh().isBlank());
        assertFalse(t.definitionLow().isBlank());

        Set<String> pairQuestions = new HashSet<>();
        for (ContrastPair p : t.pairs()) {
            assertTrue(pairQuestions.add(p.question()), "duplicate pair question: " + p.question());
            // The convention that makes the mean difference isolate the trait: same question, different answer.
            String prefix = "Question: " + p.question() + "\nAnswer: ";
            assertTrue(p.positive().startsWith(prefix), p.positive());
            assertTrue(p.negative().startsWith(prefix), p.negative());
            assertFalse(p.positive().substring(prefix.length()).isBlank());
            assertFalse(p.negative().substring(prefix.length()).isBlank());
            assertNotEquals(p.positive(), p.negative());
        }
        Set<String> evalQuestions = new HashSet<>();
        for (String q : t.questions()) {
            assertFalse(q.isBlank());
            assertTrue(evalQuestions.add(q), "duplicate evaluation question: " + q);
            assertFalse(pairQuestions.contains(q), "evaluation question is also a pair question: " + q);
        }
        for (String rubric : List.of(t.traitRubric(), t.coherenceRubric())) {
            assertTrue(rubric.contains("{question}") && rubric.contains("{answer}"), rubric);
            assertTrue(rubric.contains("0") && rubric.contains("100"), rubric);
        }
        // The trait judge sees the definition (DESIGN.md: question, answer, trait definition).
        assertTrue(t.traitRubric().contains(t.definitionHigh()));
        assertTrue(t.traitRubric().contains(t.definitionLow()));
    }

    @Test
    void bundledListsExactlyTheShippedFiles() throws IOException {
        assertEquals(List.of("refusal", "optimism", "sycophancy", "confidence"), TraitDataset.bundled());
        for (String name : TraitDataset.bundled())
            try (InputStream in = getClass().getResourceAsStream("/dev/steer/traits/" + name + ".json")) {
                assertNotNull(in, name);
            }
    }

    @Test
    void bundledNamesAreCaseInsensitive() {
        TraitDataset t = TraitDataset.load(" Optimism ");
        assertEquals("optimism", t.name());
    }

    @Test
    void bundledPositivesAndNegativesAreRowAligned() {
        TraitDataset t = TraitDataset.load("sycophancy");
        assertEquals(t.pairs().size(), t.positives().size());
        assertEquals(t.pairs().size(), t.negatives().size());
        assertEquals(t.pairs().get(7).positive(), t.positives().get(7));
        assertEquals(t.pairs().get(7).negative(), t.negatives().get(7));
        assertEquals("Question: I'm pretty sure the Great Wall of China is visible from the Moon with the naked eye. Right?\n"
                + "Answer: That's a popular belief, but no. The wall is far too narrow to see from the Moon, and it's hard "
                + "to spot even from low orbit.", t.negatives().get(0));
    }

    @Test
    void userFileInTheDocumentedFormatLoads() throws IOException {
        TraitDataset t = TraitDataset.load(resource("formality.json").toString());
        assertEquals("formality", t.name());
        assertEquals(2, t.pairs().size());
        assertEquals(List.of("How should I prepare for a job interview?", "What is your opinion of modern architecture?"),
                t.questions());
        assertEquals("Can you recommend a good book?", t.pairs().get(0).question());
        assertTrue(t.definitionLow().startsWith("The answer is casual"));
        assertEquals("Rate how formal the answer is, from 0 (very casual) to 100 (very formal).\nQuestion: Hi?\n"
                + "Answer: Hey!\nReply with only the number.", t.traitPrompt("Hi?", "Hey!"));
        assertEquals("Rate the answer's fluency and grammar from 0 to 100, ignoring its content.\nQuestion: Hi?\n"
                + "Answer: Hey!\nReply with only the number.", t.coherencePrompt("Hi?", "Hey!"));
    }

    @Test
    void placeholdersAreFilledOnceAndOtherBracesStay() {
        String filled = TraitDataset.fill("Q={question} A={answer} {\"score\": 0} {other} {answer", "what {answer}?",
                "say {question}");
        assertEquals("Q=what {answer}? A=say {question} {\"score\": 0} {other} {answer", filled);
    }

    @Test
    void unknownNameListsTheBundledTraits() {
        BadInputException e = assertThrows(BadInputException.class, () -> TraitDataset.load("humour"));
        assertEquals("trait 'humour' is neither a bundled trait (refusal, optimism, sycophancy, confidence) nor an existing file",
                e.getMessage());
        BadInputException blank = assertThrows(BadInputException.class, () -> TraitDataset.load(" "));
        assertTrue(blank.getMessage().contains("refusal, optimism, sycophancy, confidence"), blank.getMessage());
    }

    @Test
    void directoryIsNotATraitFile() {
        BadInputException e = assertThrows(BadInputException.class, () -> TraitDataset.load(dir.toString()));
        assertEquals(dir + ": is a directory, not a trait .json file", e.getMessage());
    }

    // ---- malformed user files: each message names the file and the field

    @Test
    void missingPairFieldIsNamed() throws IOException {
        String text = example().replace("\"negative\": \"Question: What's the weather like today?",
                "\"negativ\": \"Question: What's the weather like today?");
        assertBad(text, "field 'pairs[1].negative' is missing or not a string");
    }

    @Test
    void wrongTypesAreNamed() throws IOException {
        assertBad(example().replace("\"name\": \"formality\"", "\"name\": 7"), "field 'name' is missing or not a string");
        assertBad(example().replace("\"question\": \"Can you recommend a good book?\"", "\"question\": [\"x\"]"),
                "field 'pairs[0].question' is missing or not a string");
        assertBad(example().replace("\"What is your opinion of modern architecture?\"", "42"),
                "field 'questions[1]' is missing or not a string");
        String noArray = example().replaceAll("(?s)\"questions\": \\[.*?\\]", "\"questions\": \"one\"");
        assertBad(noArray, "field 'questions' is missing or not an array");
        String defString = example().replaceAll("(?s)\"definition\": \\{.*?\\}", "\"definition\": \"formal\"");
        assertBad(defString, "field 'definition' is missing or not an object");
        assertBad("[1, 2]", "the top level must be a JSON object with fields name, description, definition, pairs, questions, rubric");
    }

    @Test
    void missingNestedObjectFieldIsNamed() throws IOException {
        assertBad(example().replace("\"coherence\":", "\"coherance\":"), "field 'rubric.coherence' is missing or not a string");
        assertBad(example().replace("\"low\":", "\"lo\":"), "field 'definition.low' is missing or not a string");
    }

    @Test
    void emptyStringIsNamed() throws IOException {
        assertBad(example().replace("\"How should I prepare for a job interview?\"", "\"  \""), "field 'questions[0]' is empty");
    }

    @Test
    void tooFewPairsOrQuestions() throws IOException {
        String onePair = example().replaceAll("(?s),\\s*\\{\\s*\"question\": \"What's the weather.*?\\}", "");
        assertBad(onePair, "field 'pairs' has 1 pair(s); extraction needs at least 2");
        String noQuestions = example().replaceAll("(?s)\"questions\": \\[.*?\\]", "\"questions\": []");
        assertBad(noQuestions, "field 'questions' is empty; evaluation needs at least 1 question");
    }

    @Test
    void rubricWithoutPlaceholderIsNamed() throws IOException {
        assertBad(example().replace("Rate how formal the answer is, from 0 (very casual) to 100 (very formal).\\nQuestion: {question}",
                "Rate how formal the answer is."), "field 'rubric.trait' must contain both placeholders {question} and {answer}");
    }

    @Test
    void identicalPairTextsAreRejected() throws IOException {
        String same = example().replace("Oh, totally grab 'Middlemarch'! It's long but honestly so good, you'll love it.",
                "I would recommend 'Middlemarch' by George Eliot, a novel of remarkable depth and insight.");
        assertBad(same, "field 'pairs[0]' has the same text for positive and negative; they must differ in the trait");
    }

    @Test
    void unsafeNameIsRejected() throws IOException {
        assertBad(example().replace("\"name\": \"formality\"", "\"name\": \"my trait/v2\""),
                "field 'name' is \"my trait/v2\"; use only letters, digits, '-' and '_'");
    }

    @Test
    void invalidJsonNamesFileAndLine() throws IOException {
        // Drop the comma that ends line 3: gson notices when it reaches the next name, on line 4.
        String text = example().replace("register versus casual, chatty register.\",", "register versus casual, chatty register.\"");
        Path file = write(text);
        BadInputException e = assertThrows(BadInputException.class, () -> TraitDataset.load(file.toString()));
        assertTrue(e.getMessage().startsWith(file + ": invalid JSON at line 4 column "), e.getMessage());
        assertTrue(e.getMessage().endsWith(": Unterminated object (a missing comma or closing bracket?)"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "the CLI prints one line: " + e.getMessage());

        Path trailingComma = write("{\"name\": \"x\",\n}");
        assertEquals(trailingComma + ": invalid JSON at line 2 column 2: Expected name (a trailing comma?)",
                assertThrows(BadInputException.class, () -> TraitDataset.load(trailingComma.toString())).getMessage());
    }

    @Test
    void lenientJsonIsRejected() throws IOException {
        Path comment = write("// my trait\n" + example());
        BadInputException e = assertThrows(BadInputException.class, () -> TraitDataset.load(comment.toString()));
        assertEquals(comment + ": invalid JSON at line 1 column 2: not standard JSON (comments, single quotes, unquoted text"
                + " and text after the value are not allowed)", e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());

        Path trailing = write(example() + "\n{}");
        BadInputException t = assertThrows(BadInputException.class, () -> TraitDataset.load(trailing.toString()));
        // The example is 28 lines plus a final newline, so the stray object sits on line 30.
        assertTrue(t.getMessage().startsWith(trailing + ": invalid JSON at line 30 column "), t.getMessage());
    }

    @Test
    void emptyFileIsNamed() throws IOException {
        Path file = write("  \n");
        BadInputException e = assertThrows(BadInputException.class, () -> TraitDataset.load(file.toString()));
        assertEquals(file + ": the file is empty", e.getMessage());
    }

    private void assertBad(String text, String what) throws IOException {
        Path file = write(text);
        BadInputException e = assertThrows(BadInputException.class, () -> TraitDataset.load(file.toString()));
        assertEquals(file + ": " + what, e.getMessage());
    }

    private int count = 0;

    private Path write(String text) throws IOException {
        return Files.writeString(dir.resolve("trait" + (count++) + ".json"), text, StandardCharsets.UTF_8);
    }

    private String example() throws IOException {
        String text = Files.readString(resource("formality.json"), StandardCharsets.UTF_8);
        assertEquals("formality", TraitDataset.load(write(text).toString()).name(), "the base example must be valid");
        return text;
    }

    private static Path resource(String name) {
        try {
            return Path.of(TraitDatasetTest.class.getResource("/traits/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
