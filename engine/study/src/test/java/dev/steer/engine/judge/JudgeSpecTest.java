package dev.steer.engine.judge;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JudgeSpecTest {

    @Test
    void parsesEveryForm() {
        assertEquals(new JudgeSpec(JudgeSpec.Kind.OPENAI, "gpt-4o-mini"), JudgeSpec.parse("openai:gpt-4o-mini"));
        // Model names may contain colons (e.g. fine-tune ids); only the first colon splits.
        assertEquals(new JudgeSpec(JudgeSpec.Kind.OPENAI, "ft:gpt-4o:org::id"), JudgeSpec.parse("openai:ft:gpt-4o:org::id"));
        assertEquals(new JudgeSpec(JudgeSpec.Kind.ONNX, "/models/trait"), JudgeSpec.parse("onnx:/models/trait"));
        assertEquals(new JudgeSpec(JudgeSpec.Kind.SELF, ""), JudgeSpec.parse("self"));
        assertEquals(new JudgeSpec(JudgeSpec.Kind.PERPLEXITY, ""), JudgeSpec.parse(" perplexity "));
        assertEquals("onnx:/models/trait", JudgeSpec.parse("onnx:/models/trait").toString());
    }

    @Test
    void unknownKindListsTheValidForms() {
        BadInputException e = assertThrows(BadInputException.class, () -> JudgeSpec.parse("claude:opus", "--coherence-judge"));
        assertTrue(e.getMessage().contains("--coherence-judge"), e.getMessage());
        assertTrue(e.getMessage().contains("claude:opus"), e.getMessage());
        assertTrue(e.getMessage().contains(JudgeSpec.VALID_FORMS), e.getMessage());
        assertThrows(BadInputException.class, () -> JudgeSpec.parse(""));
        assertThrows(BadInputException.class, () -> JudgeSpec.parse("selfish"));
    }

    @Test
    void missingArgumentIsNamed() {
        BadInputException e = assertThrows(BadInputException.class, () -> JudgeSpec.parse("openai:"));
        assertTrue(e.getMessage().contains("model name"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> JudgeSpec.parse("onnx: "));
        assertTrue(e.getMessage().contains("directory"), e.getMessage());
    }
}
