package dev.steer.cli;

import dev.steer.engine.store.StoreMerge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Union runs databases made apart (the shards of a sweep, search or study: --shard I/N) into one, in "
                + "one transaction: runs with the same config key are kept once (the shards' baselines are one run), ids are "
                + "renumbered with their answers, models and vectors shared; the judge caches next to the databases "
                + "(" + EvalSession.JUDGE_CACHE_FILE + ") are unioned too. The target may already hold runs; it is added to.",
                "Example: steer merge shard-0/steer-runs.db shard-1/steer-runs.db --into study/steer-runs.db && steer report --db study/steer-runs.db"})
final class MergeCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "DB", description = "Runs databases to merge.")
    List<Path> sources;

    @Option(names = "--into", required = true, paramLabel = "FILE", description = "The merged database (created if missing).")
    Path into;

    @Mixin
    OutputFormat format;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<Path> caches = sources.stream().map(s -> s.toAbsolutePath().resolveSibling(EvalSession.JUDGE_CACHE_FILE)).toList();
        StoreMerge.Summary m = StoreMerge.merge(sources, into, caches, into.toAbsolutePath().resolveSibling(EvalSession.JUDGE_CACHE_FILE));
        PrintWriter out = spec.commandLine().getOut();
        if (format.json()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("into", into.toString());
            o.put("sources", m.sources());
            o.put("runs_added", m.runsAdded());
            o.put("runs_already_present", m.runsAlreadyPresent());
            o.put("responses_added", m.responsesAdded());
            o.put("models_added", m.modelsAdded());
            o.put("vectors_added", m.vectorsAdded());
            o.put("judge_cache_entries_added", m.cacheEntriesAdded());
            CommandJson.print(out, o);
        } else {
            out.printf("merged %d database%s into %s: %d runs added (%d answers), %d already there (same config key), "
                            + "%d models and %d vectors added, %d judge cache entries added%n", m.sources(), m.sources() == 1 ? "" : "s",
                    into, m.runsAdded(), m.responsesAdded(), m.runsAlreadyPresent(), m.modelsAdded(), m.vectorsAdded(), m.cacheEntriesAdded());
        }
        return 0;
    }
}
