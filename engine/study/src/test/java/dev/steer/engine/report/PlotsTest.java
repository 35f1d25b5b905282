package dev.steer.engine.report;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlotsTest {
    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TempDir
    Path tmp;

    @Test
    void writesThreeValidPngsAtomically() throws Exception {
        List<RunPoint> ps = new ArrayList<>(SyntheticRuns.designShaped());
        ps.addAll(SyntheticRuns.twoTraitsTwoLayers());
        Path dir = tmp.resolve("plots/nested");
        List<Path> written = Plots.write(dir, ps);
        assertEquals(List.of(dir.resolve(Plots.RATIO_VS_COHERENCE), dir.resolve(Plots.RATIO_VS_DELTA),
                dir.resolve(Plots.COHERENCE_BY_BUCKET)), written);
        for (Path f : written) {
            byte[] bytes = Files.readAllBytes(f);
            assertArrayEquals(PNG_MAGIC, Arrays.copyOf(bytes, 8), f + " is a PNG");
            // IHDR: width and height, big-endian, at bytes 16-23.
            assertEquals(900, readInt(bytes, 16), f + " width");
            assertEquals(600, readInt(bytes, 20), f + " height");
            assertTrue(bytes.length > 10_000, f + " has content: " + bytes.length + " bytes");
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(3, files.count(), "no temporary files left");
        }
    }

    private static int readInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }

    @Test
    void nothingToPlotOrAFileInTheWayIsBadInput() throws Exception {
        BadInputException none = assertThrows(BadInputException.class, () -> Plots.write(tmp.resolve("p"), List.of()));
        assertTrue(none.getMessage().contains("--plot") && none.getMessage().contains("no steered runs"), none.getMessage());
        Path file = Files.writeString(tmp.resolve("taken"), "x");
        BadInputException taken = assertThrows(BadInputException.class,
                () -> Plots.write(file, SyntheticRuns.designShaped()));
        assertTrue(taken.getMessage().contains("taken") && taken.getMessage().contains("not a directory"), taken.getMessage());
    }
}
