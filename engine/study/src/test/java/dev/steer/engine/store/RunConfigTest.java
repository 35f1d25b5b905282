package dev.steer.engine.store;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class RunConfigTest {
    private static RunConfig config(double coef, long seed) {
        return new RunConfig("m1", "v1", "refusal", 12, coef, "all", "tj", "cj", "qh", 64, seed, 0.0, true, "th", "cpu:default");
    }

    @Test
    void keyIsSha256OfSortedCompactJson() {
        RunConfig c = config(0.5, 7);
        assertEquals("{\"chat\":1,\"coef\":0.5,\"coherence_judge\":\"cj\",\"compute\":\"cpu:default\",\"judge\":\"tj\",\"k"
                + "ey_form\":2,\"layer\":12,\"max_new_tokens\":64,\"model\":\"m1\",\"positions\":\"all\",\"questions\":\"qh\",\"seed\":7,\"temperature\":0.0,\"trait\":\"refusal\",\"trait_sha256\":\"th\",\"vector\":\"v1\"}", c.canonicalJson());
        // sha256 of the string above, computed with Python's hashlib.
        assertEquals("55ea96386349fbecfbdeebf60ff31abe531d966e6a962fab5d20f1418cc7d882", c.key());
    }

    @Test
    void everyFieldThatChangesTheResultChangesTheKey() {
        String base = config(0.5, 7).key();
        assertEquals(base, config(0.5, 7).key());
        assertNotEquals(base, config(0.5000000001, 7).key());
        assertNotEquals(base, config(0.5, 8).key());
        assertNotEquals(base, new RunConfig("m1", "v1", "refusal", 12, 0.5, "prompt", "tj", "cj", "qh", 64, 7, 0.0, true, "th", "cpu:default").key());
        assertNotEquals(base, new RunConfig("m1", "v1", "refusal", 12, 0.5, "all", "tj", "cj", "qh", 64, 7, 0.7, true, "th", "cpu:default").key());
        assertNotEquals(base, new RunConfig("m1", null, "refusal", null, 0.5, "all", "tj", "cj", "qh", 64, 7, 0.0, true, "th", "cpu:default").key());
        // What the key covers since form 2: the chat template's use, the trait text, backend and precision, judges.
        assertNotEquals(base, new RunConfig("m1", "v1", "refusal", 12, 0.5, "all", "tj", "cj", "qh", 64, 7, 0.0, false, "th", "cpu:default").key());
        assertNotEquals(base, new RunConfig("m1", "v1", "refusal", 12, 0.5, "all", "tj", "cj", "qh", 64, 7, 0.0, true, "th2", "cpu:default").key());
        assertNotEquals(base, new RunConfig("m1", "v1", "refusal", 12, 0.5, "all", "tj", "cj", "qh", 64, 7, 0.0, true, "th", "cuda:bf16").key());
        assertNotEquals(base, new RunConfig("m1", "v1", "refusal", 12, 0.5, "all", "tj2", "cj", "qh", 64, 7, 0.0, true, "th", "cpu:default").key());
        assertNotEquals(base, new RunConfig("m1", "v1", "refusal", 12, 0.5, "all", "tj", "cj2", "qh", 64, 7, 0.0, true, "th", "cpu:default").key());
        assertEquals(config(0.0, 7).key(), config(-0.0, 7).key());
    }

    @Test
    void questionsHashCountsOrderAndBoundaries() {
        // sha256 of ["a?","b \"x\""] as compact JSON, computed with Python's hashlib.
        assertEquals("886f01f60244c406b0189e73c34700f40b626955c58e834d381a6977fc381b3a",
                RunConfig.questionsHash(List.of("a?", "b \"x\"")));
        assertNotEquals(RunConfig.questionsHash(List.of("ab", "c")), RunConfig.questionsHash(List.of("a", "bc")));
        assertNotEquals(RunConfig.questionsHash(List.of("a", "b")), RunConfig.questionsHash(List.of("b", "a")));
    }
}
