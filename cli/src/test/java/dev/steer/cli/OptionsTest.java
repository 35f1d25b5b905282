package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.extract.Pooling;
import dev.steer.engine.search.Direction;
import dev.steer.engine.steering.Positions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.steer.cli.BadInputTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Typed options: picocli converts them, a bad value is one line naming flag, value and the accepted values. */
class OptionsTest {
    @TempDir
    Path tmp;

    static void assertLine(CliRun r, String line) {
        assertBad(r);
        assertEquals(line, r.err().strip());
    }

    static <T> T parse(T command, String... args) {
        new CommandLine(command).parseArgs(args);
        return command;
    }

    @Test
    void enumOptionsTakeTheirLowerCaseNames() {
        GenerateCommand g = parse(new GenerateCommand(), "--model", "m", "--prompt", "p", "--positions", "response", "--precision", "bf16");
        assertEquals(Positions.RESPONSE, g.positions);
        assertEquals(Precision.BF16, g.modelOptions.backend.precision);
        assertEquals("bf16", Precision.backendName(g.modelOptions.backend.precision));
        assertEquals("cpu", g.modelOptions.backend.name);
        assertEquals(OutputFormat.Kind.text, g.format.kind);
        GenerateCommand defaults = parse(new GenerateCommand(), "--model", "m", "--prompt", "p");
        assertEquals(Positions.ALL, defaults.positions);
        assertNull(defaults.modelOptions.backend.precision);
        assertNull(Precision.backendName(null));
        SearchCommand s = parse(new SearchCommand(), "--model", "m", "--trait", "t", "--vectors", "v", "--layers", "1", "--judge", "self",
                "--direction", "negative", "--positions", "prompt", "--format", "json");
        assertEquals(Direction.NEGATIVE, s.direction);
        assertEquals(Positions.PROMPT, s.eval.positions);
        assertTrue(s.format.json());
        assertEquals(Direction.POSITIVE, parse(new SearchCommand(), "--model", "m", "--trait", "t", "--vectors", "v", "--layers", "1",
                "--judge", "self").direction);
    }

    @Test
    void poolingAndItsOldNamePosition() {
        String[] base = {"--model", "m", "--trait", "optimism", "--out", "o"};
        assertEquals(Pooling.LAST, parse(new ExtractCommand(), base).pooling);
        assertEquals(Pooling.MEAN, parse(new ExtractCommand(), SweepBadInputTest.concat(base, "--pooling", "mean")).pooling);
        assertEquals(Pooling.MEAN, parse(new ExtractCommand(), SweepBadInputTest.concat(base, "--position", "mean")).pooling);
        assertEquals(Pooling.MEAN, parse(new ExtractCommand(), SweepBadInputTest.concat(base, "--position=mean")).pooling);
    }

    @Test
    void badValuesAreOneLineNamingFlagValueAndChoices() {
        String tiny = CliRun.TINY.toString();
        assertLine(BadInputTest.generate(CliRun.TINY, "--positions", "middle"), "steer: --positions: 'middle' is not one of all, prompt, response");
        assertLine(BadInputTest.generate(CliRun.TINY, "--positions", "ALL"), "steer: --positions: 'ALL' is not one of all, prompt, response");
        assertLine(BadInputTest.generate(CliRun.TINY, "--precision", "f16"), "steer: --precision: 'f16' is not one of f32, bf16");
        assertLine(BadInputTest.generate(CliRun.TINY, "--format", "xml"), "steer: --format: 'xml' is not one of text, json");
        assertLine(BadInputTest.generate(CliRun.TINY, "--backend", "tpu"), "steer: --backend: 'tpu' is not available (available: cpu, cuda, cuda-emu)");
        assertLine(BadInputTest.generate(CliRun.TINY, "--max-new-tokens", "many"), "steer: --max-new-tokens: 'many' is not an int");
        assertLine(CliRun.of("bench", "--random", "tiny", "--precision", "fp8"), "steer: --precision: 'fp8' is not one of f32, bf16");
        assertLine(CliRun.of("search", "--model", tiny, "--trait", "optimism", "--vectors", tmp.toString(), "--layers", "1",
                "--judge", "self", "--direction", "sideways"), "steer: --direction: 'sideways' is not one of positive, negative");
        String[] extract = {"extract", "--model", tiny, "--trait", "optimism", "--out", tmp.resolve("o").toString()};
        assertLine(CliRun.of(SweepBadInputTest.concat(extract, "--pooling", "first")), "steer: --pooling: 'first' is not one of last, mean");
        assertLine(CliRun.of(SweepBadInputTest.concat(extract, "--position", "first")), "steer: --position: 'first' is not one of last, mean");
        assertLine(CliRun.of(SweepBadInputTest.concat(extract, "--position=first")), "steer: --position: 'first' is not one of last, mean");
        assertFalse(Files.exists(tmp.resolve("o")), "nothing written");
    }

    @Test
    void steerIsParsedWithoutTouchingTheFile() {
        Path absent = tmp.resolve("absent.json");
        SteerArg a = SteerArg.parse("3:-2.5:" + absent);
        assertEquals(new SteerArg(3, -2.5, absent), a);
        GenerateCommand g = parse(new GenerateCommand(), "--model", "m", "--prompt", "p", "--steer", "1:2:" + absent, "--steer", "0:NaN:x.json");
        assertEquals(List.of(new SteerArg(1, 2, absent), new SteerArg(0, Double.NaN, Path.of("x.json"))), g.steer);
        // The file is read, and the spec checked, when it is resolved against a model.
        BadInputException e = assertThrows(BadInputException.class,
                () -> SteerArg.resolve(List.of(a), null, Positions.ALL, dev.steer.models.LoadedModel.inspect(CliRun.TINY).dims()));
        assertTrue(e.getMessage().contains("absent.json"), e.getMessage());
    }

    @Test
    void badSteerValuesKeepTheirMessages() throws Exception {
        Path v = tmp.resolve("v.json");
        Files.writeString(v, java.util.Arrays.toString(new float[64]));
        assertLine(BadInputTest.generate(CliRun.TINY, "--steer", "1:abc:" + v), "steer: --steer '1:abc:" + v + "': coefficient 'abc' is not a number");
        assertLine(BadInputTest.generate(CliRun.TINY, "--steer", "x:1:" + v), "steer: --steer 'x:1:" + v + "': layer 'x' is not an integer");
        assertLine(BadInputTest.generate(CliRun.TINY, "--steer", "1:1"),
                "steer: --steer '1:1': expected LAYER:COEF:VECTOR_FILE, e.g. 12:8.5:vectors/optimism.safetensors");
        assertBad(BadInputTest.generate(CliRun.TINY, "--steer", "1:NaN:" + v), "--steer", "NaN", "finite");
        assertBad(BadInputTest.generate(CliRun.TINY, "--steer", "1:1:" + tmp.resolve("absent.json")), "absent.json");
    }
}
