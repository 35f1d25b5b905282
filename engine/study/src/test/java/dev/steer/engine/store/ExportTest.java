package dev.steer.engine.store;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportTest {
    @TempDir
    Path tmp;

    private static RunRecord awkward() {
        // A trait name with a comma and quotes, and a missing coherence mean, to exercise quoting and nulls.
        return new RunRecord(4, "k4", 1, 2L, "says \"no\", politely", 12, "mean_diff", -3.0, "all", "tj", "cj", 64,
                7, 0.0, 10, 55.5, null, 40.0, 15.5, 2.0, 12.0, 12.0, 0.5, RunKind.SEARCH, 3,
                Instant.parse("2025-05-06T07:08:09Z"), RunStatus.COMPLETE);
    }

    @Test
    void csvHasHeaderAndQuotesCells() throws Exception {
        Path out = tmp.resolve("runs.csv");
        Export.csv(List.of(awkward()), out);
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(String.join(",", Export.FIELDS) + "\r\n"
                + "4,k4,search,complete,\"says \"\"no\"\", politely\",12,mean_diff,-3.0,2.0,12.0,0.5,12.0,0.5,0.5,,55.5,40.0,"
                + "15.5,10,all,tj,cj,64,7,0.0,3,1,2,2025-05-06T07:08:09Z\r\n", text);
    }

    @Test
    void jsonlHasImportFieldNamesRatioAndNulls() throws Exception {
        Path out = tmp.resolve("runs.jsonl");
        Export.jsonl(List.of(awkward(), awkward().withId(5)), out);
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(2, lines.size());
        JsonObject o = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertEquals(Export.FIELDS, List.copyOf(o.keySet()));
        assertEquals("says \"no\", politely", o.get("trait").getAsString());
        assertEquals(0.5, o.get("ratio").getAsDouble(), 0.0, "|−3|·2/12");
        assertEquals(0.5, o.get("live_ratio").getAsDouble(), 0.0, "unsigned: the sign lives in coef");
        assertEquals(0.5, o.get("steered_ratio").getAsDouble(), 0.0);
        assertTrue(o.get("coherence_mean").isJsonNull());
        assertEquals(5, JsonParser.parseString(lines.get(1)).getAsJsonObject().get("id").getAsInt());
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFiles() throws Exception {
        Path out = tmp.resolve("runs.jsonl");
        Files.writeString(out, "old content\n");
        Export.jsonl(List.of(awkward()), out);
        assertTrue(Files.readString(out).startsWith("{\"id\":4,"));
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(out), files.toList());
        }
    }

    @Test
    void missingDirectoryIsBadInputNamingIt() {
        Path out = tmp.resolve("no/such/dir/runs.csv");
        BadInputException e = assertThrows(BadInputException.class, () -> Export.csv(List.of(awkward()), out));
        assertTrue(e.getMessage().contains("no/such/dir") && e.getMessage().contains("does not exist"), e.getMessage());
    }
}
