package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.store.Export;
import dev.steer.engine.store.RunFilter;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write the runs of a results database as JSONL (one object a line) or CSV, chosen by the file "
                + "extension; steer report --import reads the JSONL back. Each run names its model (path, fingerprint) "
                + "and vector (file, sha256). --answers also writes every stored answer: the run's config (run_id, "
                + "config_key, trait, layer, method, coef, ratio, positions, judges, max_new_tokens, seed, temperature, "
                + "model, vector), then idx, question, answer, trait_score, coherence_score.",
                "Examples:",
                "  steer export --db steer-runs.db --out runs.jsonl",
                "  steer export --trait optimism --out runs.csv --answers answers.jsonl"})
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--db", defaultValue = RunStore.DEFAULT_FILE, paramLabel = "FILE",
            description = "Results database written by sweep/search. Default: ${DEFAULT-VALUE}.")
    Path db;

    @Option(names = "--out", paramLabel = "FILE", description = "The runs: .jsonl or .csv.")
    Path target;

    @Option(names = "--answers", paramLabel = "FILE", description = "Every stored answer of those runs, with its run's config: .jsonl or .csv.")
    Path answers;

    @Option(names = "--trait", paramLabel = "T", description = "Only runs of these traits (repeat for several). Default: all.")
    List<String> traits;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (target == null && answers == null) throw new BadInputException("export: give --out FILE (runs), --answers FILE (answers), or both");
        if (target != null && answers != null && target.toAbsolutePath().normalize().equals(answers.toAbsolutePath().normalize()))
            throw new BadInputException("--answers " + answers + ": is the --out file too; give them different names");
        // Both formats checked before anything is read or written.
        Export.Format runFormat = target == null ? null : Export.Format.of(target, "--out");
        Export.Format answerFormat = answers == null ? null : Export.Format.of(answers, "--answers");
        // Both targets checked before either is written: a bad --answers must not cost the --out file it would replace.
        if (target != null) checkTarget(target, "--out");
        if (answers != null) checkTarget(answers, "--answers");
        if (!Files.exists(db)) throw new BadInputException("--db " + db + ": no such results database");
        var out = spec.commandLine().getOut();
        try (RunStore store = RunStore.openForReading(db)) {
            List<RunRecord> runs = new ArrayList<>();
            if (traits == null) runs.addAll(store.runs(RunFilter.ALL));
            else {
                List<String> missing = new ArrayList<>();
                for (String t : new java.util.LinkedHashSet<>(traits)) {
                    List<RunRecord> of = store.runs(RunFilter.ALL.withTrait(t));
                    if (of.isEmpty()) missing.add(t);
                    runs.addAll(of);
                }
                // A misspelt trait must not pass as an empty export: say so, and which traits the database holds.
                if (!missing.isEmpty()) {
                    var present = new java.util.TreeSet<String>();
                    for (RunRecord r : store.runs(RunFilter.ALL)) if (r.trait() != null) present.add(r.trait());
                    throw new BadInputException("--trait " + String.join(", ", missing) + ": no runs of "
                            + (missing.size() == 1 ? "that trait" : "those traits") + " in " + db
                            + (present.isEmpty() ? " (it holds no runs)" : " (its traits: " + String.join(", ", present) + ")"));
                }
            }
            runs.sort(java.util.Comparator.comparingLong(RunRecord::id));
            Export.Names names = Export.Names.of(store);
            if (target != null) {
                Export.runs(runFormat, runs, names, target);
                out.printf("%d runs written to %s%n", runs.size(), target);
            }
            if (answers != null) {
                long n = Export.answers(answerFormat, runs, names, store::responses, answers);
                out.printf("%d answers of %d runs written to %s%n", n, runs.size(), answers);
            }
        }
        return 0;
    }

    private static void checkTarget(Path file, String flag) {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir))
            throw new BadInputException(flag + " " + file + ": " + (Files.exists(dir) ? dir + " is not a directory" : "directory " + dir + " does not exist"));
        if (Files.isDirectory(file)) throw new BadInputException(flag + " " + file + ": is a directory");
    }
}
