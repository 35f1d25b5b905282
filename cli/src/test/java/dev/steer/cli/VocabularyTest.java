package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One vocabulary across commands: {@code --max-new-tokens} everywhere (bench's {@code --new-tokens} kept as its old
 * name, same result), {@code --trait-name} for the user's own traits, the held-out warning of extract.
 */
class VocabularyTest {
    static final Path FORMALITY = Path.of("src/test/resources/traits/formality.json");

    @TempDir
    Path tmp;
    JsonObject meanDiff;
    Path positive, negative;

    @org.junit.jupiter.api.BeforeEach
    void prompts() throws Exception {
        meanDiff = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(CliRun.REFERENCE)).getAsJsonObject().getAsJsonObject("mean_diff");
        positive = java.nio.file.Files.writeString(tmp.resolve("positive.json"), meanDiff.getAsJsonArray("positive").toString());
        negative = java.nio.file.Files.writeString(tmp.resolve("negative.json"), meanDiff.getAsJsonArray("negative").toString());
    }

    CliRun extract(Path out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("extract", "--model", CliRun.TINY.toString(), "--positive", positive.toString(),
                "--negative", negative.toString(), "--out", out.toString()));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    static <T> T parse(T command, String... args) {
        new CommandLine(command).parseArgs(args);
        return command;
    }

    @Test
    void everyGeneratingCommandTakesMaxNewTokens() {
        for (String command : List.of("generate", "sweep", "search", "bench")) {
            String help = CliRun.of(command, "--help").out();
            assertTrue(help.contains("--max-new-tokens=N"), command + ": " + help);
        }
        assertEquals(7, parse(new GenerateCommand(), "--model", "m", "--prompt", "p", "--max-new-tokens", "7").maxNewTokens);
        assertEquals(7, parse(new SweepCommand(), "--model", "m", "--trait", "t", "--vectors", "v", "--layers", "1", "--judge", "self",
                "--coefs", "1", "--max-new-tokens", "7").eval.maxNewTokens);
        // Part of stored run keys: sweep and search keep their default.
        assertEquals(48, parse(new SearchCommand(), "--model", "m", "--trait", "t", "--vectors", "v", "--layers", "1", "--judge", "self").eval.maxNewTokens);
    }

    @Test
    void benchNewTokensIsTheOldNameOfMaxNewTokens() {
        assertEquals(5, parse(new BenchCommand(), "--random", "tiny", "--new-tokens", "5").newTokens);
        assertEquals(5, parse(new BenchCommand(), "--random", "tiny", "--max-new-tokens", "5").newTokens);
        JsonObject[] runs = new JsonObject[2];
        String[] names = {"--new-tokens", "--max-new-tokens"};
        for (int i = 0; i < 2; i++) {
            CliRun r = CliRun.of("bench", "--random", "tiny", "--batch", "2", "--prompt-len", "3", names[i], "4", "--format", "json");
            assertEquals(0, r.code(), r.err());
            runs[i] = r.json();
        }
        for (JsonObject o : runs) {
            assertEquals(4, o.get("max_new_tokens").getAsInt());
            assertEquals(4, o.get("new_tokens").getAsInt());
            assertEquals(3, o.getAsJsonArray("runs").size());
        }
        // The same bad value is refused the same way under either name, naming the option as it is called now.
        for (String name : names) {
            CliRun bad = CliRun.of("bench", "--random", "tiny", name, "1");
            assertEquals(Steer.BAD_INPUT, bad.code());
            assertEquals("steer: --max-new-tokens: must be at least 2, was 1", bad.err().strip());
        }
    }

    @Test
    void extractNamesACustomTrait() throws Exception {
        Path out = tmp.resolve("joy");
        CliRun r = extract(out, "--layers", "1", "--method", "mean_diff", "--trait-name", "joy-2", "--format", "json");
        assertEquals(0, r.code(), r.err());
        assertEquals("joy-2", r.json().get("trait").getAsString());
        assertEquals("joy-2", VectorFile.read(out.resolve("mean_diff_layer1.safetensors"), null).provenance().trait());
        CliRun file = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", FORMALITY.toString(), "--trait-name", "register",
                "--layers", "1", "--method", "mean_diff", "--out", tmp.resolve("reg").toString(), "--format", "json");
        assertEquals(0, file.code(), file.err());
        assertEquals("register", file.json().get("trait").getAsString());
        CliRun unnamed = extract(tmp.resolve("c"), "--layers", "1", "--method", "mean_diff", "--format", "json");
        assertEquals("custom", unnamed.json().get("trait").getAsString());
    }

    @Test
    void traitNameIsCheckedBeforeTheModelLoads() {
        CliRun bundled = CliRun.of("extract", "--model", "no-such-model", "--trait", "optimism", "--trait-name", "joy", "--out", tmp.toString());
        assertEquals(Steer.BAD_INPUT, bundled.code());
        assertTrue(bundled.err().startsWith("steer: --trait-name joy: --trait optimism is a bundled trait and keeps its name"), bundled.err());
        CliRun bad = extract(tmp.resolve("x"), "--trait-name", "joy/../x");
        assertEquals(Steer.BAD_INPUT, bad.code());
        assertEquals("steer: --trait-name 'joy/../x': use only letters, digits, '-' and '_'", bad.err().strip());
        assertEquals("", bad.out());
        // sweep and search (EvalOptions): a trait file renamed, a bundled trait refused.
        SweepCommand s = parse(new SweepCommand(), "--model", "m", "--trait", FORMALITY.toString(), "--trait-name", "register",
                "--vectors", "v", "--layers", "1", "--judge", "self", "--coefs", "1");
        assertEquals("register", s.eval.loadTrait().name());
        assertEquals("formality", parse(new SweepCommand(), "--model", "m", "--trait", FORMALITY.toString(),
                "--vectors", "v", "--layers", "1", "--judge", "self", "--coefs", "1").eval.loadTrait().name());
        CliRun sweep = CliRun.of("sweep", "--model", "no-such-model", "--trait", "refusal", "--trait-name", "x", "--vectors", tmp.toString(),
                "--layers", "1", "--judge", "self", "--coefs", "1", "--db", tmp.resolve("r.db").toString());
        assertEquals(Steer.BAD_INPUT, sweep.code());
        assertTrue(sweep.err().contains("--trait refusal is a bundled trait"), sweep.err());
    }

    @Test
    void extractWarnsWhenTooFewPromptsForHeldOutAccuracy() {
        // The tiny fixture's sets are small: the warning states the margin and the rule, on stderr.
        JsonArray pos = meanDiff.getAsJsonArray("positive"), neg = meanDiff.getAsJsonArray("negative");
        CliRun r = extract(tmp.resolve("w"), "--layers", "1", "--format", "json");
        assertEquals(0, r.code(), r.err());
        double margin = 1.96 * Math.sqrt(0.25 / (pos.size() + neg.size()));
        assertEquals(String.format("steer: warning: %d positive / %d negative prompts: the held-out accuracy of mean_diff, probe is "
                + "within +/-%.2f of chance (0.5) by luck alone, at 95%%; it means something from 43 prompts in all (+/-0.15)",
                pos.size(), neg.size(), margin), r.err().strip());
        r.json();
        // The bundled traits have enough pairs: no warning.
        CliRun bundled = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "1",
                "--method", "mean_diff", "--out", tmp.resolve("o").toString());
        assertEquals(0, bundled.code(), bundled.err());
        assertEquals("", bundled.err());
    }
}
