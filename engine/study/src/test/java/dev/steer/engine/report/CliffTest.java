package dev.steer.engine.report;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliffTest {
    private static List<RunPoint> ramp(double... coherence) {
        List<RunPoint> ps = new ArrayList<>();
        for (int i = 0; i < coherence.length; i++) ps.add(SyntheticRuns.point("t", 1, (i + 1) / 10.0, coherence[i], 0));
        return ps;
    }

    @Test
    void firstWindowBelowFiftyStartsTheCliff() {
        // Windows of 5: [80 80 80 60 40]=68, [80 80 60 40 20]=56, [80 60 40 20 20]=44 → starts at run 3, ratio 0.3.
        Cliff c = Cliff.find(ramp(80, 80, 80, 60, 40, 20, 20, 20)).orElseThrow();
        assertEquals(0.3, c.ratio(), 0.0);
        assertEquals(44.0, c.meanCoherence(), 1e-12);
        assertEquals(5, c.window());
    }

    @Test
    void noWindowBelowFiftyMeansNoCliff() {
        assertTrue(Cliff.find(ramp(90, 80, 70, 60, 50, 50, 50, 50)).isEmpty(), "exactly 50 is not below 50");
        assertTrue(Cliff.find(List.of()).isEmpty());
    }

    @Test
    void oneIncoherentRunIsNoiseNotACliff() {
        // A lone 0 among 80s: every window holding it averages 64.
        assertTrue(Cliff.find(ramp(80, 0, 80, 80, 80, 80, 80, 80)).isEmpty());
        assertEquals(0.2, Cliff.find(ramp(80, 0, 80, 80, 80, 80, 80, 80), 1).orElseThrow().ratio(), 0.0,
                "with a window of 1 the single run decides");
    }

    @Test
    void fewerRunsThanTheWindowUseOneWindowOfAll() {
        Cliff c = Cliff.find(ramp(40, 45, 60)).orElseThrow();
        assertEquals(3, c.window());
        assertEquals(0.1, c.ratio(), 0.0);
        assertEquals(145.0 / 3, c.meanCoherence(), 1e-12);
        assertTrue(Cliff.find(ramp(40, 45, 90)).isEmpty());
    }

    @Test
    void inputOrderDoesNotMatter() {
        List<RunPoint> ps = ramp(80, 80, 80, 60, 40, 20, 20, 20, 10, 10);
        Collections.shuffle(ps, new Random(42));
        assertEquals(0.3, Cliff.find(ps).orElseThrow().ratio(), 0.0);
    }

    @Test
    void windowMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cliff.find(ramp(1), 0));
        assertTrue(e.getMessage().contains("window"), e.getMessage());
    }
}
