package dev.steer.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** {@code --format text|json}: json prints exactly one object on stdout, for scripts. */
final class OutputFormat {
    enum Kind { text, json }

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();

    @Option(names = "--format", defaultValue = "text", paramLabel = "FMT",
            converter = LowerCaseEnum.OfFormat.class, completionCandidates = LowerCaseEnum.OfFormat.class, description = "text or json. Default: ${DEFAULT-VALUE}.")
    Kind kind;

    boolean json() {
        return kind == Kind.json;
    }

    static void printJson(PrintWriter out, Object value) {
        out.println(GSON.toJson(value));
    }
}
