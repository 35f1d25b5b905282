package dev.steer.engine.model;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerSelectionTest {
    @Test
    void allRangesListsAndMixes() {
        assertArrayEquals(new int[] {0, 1, 2, 3}, LayerSelection.parse("all", 4, "--layers"));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, LayerSelection.parse("0-5", 26, "--layers"));
        assertArrayEquals(new int[] {5, 10}, LayerSelection.parse("10,5", 26, "--layers"));
        assertArrayEquals(new int[] {1, 2, 3, 7}, LayerSelection.parse("1-3, 7,2", 26, "--layers"));
        assertArrayEquals(new int[] {25}, LayerSelection.parse("25", 26, "--layers"));
    }

    @Test
    void badSpecsNameTheFlagAndTheValue() {
        String[][] cases = {{"26", "out of range"}, {"0-26", "out of range"}, {"-1", "out of range"}, {"3-1", "backwards"},
                {"x", "not a layer number"}, {"1,,2", "not a layer number"}, {"1-", "not a layer number"}, {"", "empty"}};
        for (String[] c : cases) {
            BadInputException e = assertThrows(BadInputException.class, () -> LayerSelection.parse(c[0], 26, "--layers"), c[0]);
            assertTrue(e.getMessage().startsWith("--layers"), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
            if (!c[0].isEmpty()) assertTrue(e.getMessage().contains("'" + c[0] + "'"), e.getMessage());
        }
    }
}
