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
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write every run of a results database as JSONL (one object a line) or CSV, chosen by the file "
                + "extension; steer report --import reads the JSONL back.",
                "Example: steer export --db steer-runs.db --out runs.jsonl"})
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--db", defaultValue = RunStore.DEFAULT_FILE, paramLabel = "FILE", description = "Results database. Default: ${DEFAULT-VALUE}.")
    Path db;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Target: .jsonl or .csv.")
    Path target;

    @Option(names = "--trait", paramLabel = "T", description = "Only runs of this trait.")
    String trait;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        String name = target.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean jsonl = name.endsWith(".jsonl");
        if (!jsonl && !name.endsWith(".csv"))
            throw new BadInputException("--out " + target + ": unknown format; name the file .jsonl or .csv");
        if (!Files.exists(db)) throw new BadInputException("--db " + db + ": no such results database");
        List<RunRecord> runs;
        try (RunStore store = RunStore.openForReading(db)) {
            runs = store.runs(RunFilter.ALL.withTrait(trait));
        }
        if (jsonl) Export.jsonl(runs, target);
        else Export.csv(runs, target);
        spec.commandLine().getOut().printf("%d runs written to %s%n", runs.size(), target);
        return 0;
    }
}
