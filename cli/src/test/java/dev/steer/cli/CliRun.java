package dev.steer.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** Runs {@code steer} in-process and keeps exit code, stdout and stderr. */
record CliRun(int code, String out, String err) {
    static final Path TINY = Path.of("../models/src/test/resources/fixtures/tiny-gemma2");
    static final Path REFERENCE = Path.of("../models/src/test/resources/fixtures/tiny-gemma2.reference.json");

    static CliRun of(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Steer.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new CliRun(code, out.toString(), err.toString());
    }

    JsonObject json() {
        return JsonParser.parseString(out).getAsJsonObject();
    }
}
