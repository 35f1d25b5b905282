package dev.steer.engine.store;

import java.nio.file.Path;

/**
 * Child JVM for {@link KilledSweepTest}: a resumable sweep. Run i has coef 0.1·(i+1); a run whose config key is
 * already stored is skipped ("skip i"), others are announced before and after the write ("begin i", "saved i") so
 * the parent can kill the process while a write is in flight. Args: database file, number of runs, responses per run.
 */
public final class SweepChild {
    public static void main(String[] args) {
        Path db = Path.of(args[0]);
        int runs = Integer.parseInt(args[1]);
        int n = Integer.parseInt(args[2]);
        try (RunStore store = RunStore.open(db)) {
            ModelRecord m = store.saveModel(StoredRuns.model());
            VectorRecord v = store.saveVector(StoredRuns.vector(m.id(), 2));
            for (int i = 0; i < runs; i++) {
                RunRecord run = StoredRuns.sweep(m.id(), v.id(), coef(i), n);
                if (store.findByConfigKey(run.configKey()).isPresent()) {
                    System.out.println("skip " + i);
                    continue;
                }
                System.out.println("begin " + i);
                System.out.flush();
                store.saveRun(run, StoredRuns.responses(n, 2000));
                System.out.println("saved " + i);
                System.out.flush();
            }
        }
    }

    static double coef(int i) {
        return 0.1 * (i + 1);
    }
}
