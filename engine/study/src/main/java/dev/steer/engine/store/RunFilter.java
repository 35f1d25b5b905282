package dev.steer.engine.store;

/**
 * Which runs {@link RunStore#runs(RunFilter)} returns; a null field matches everything.
 */
public record RunFilter(String trait, RunKind kind) {
    public static final RunFilter ALL = new RunFilter(null, null);

    public RunFilter withTrait(String t) {
        return new RunFilter(t, kind);
    }

    public RunFilter withKind(RunKind k) {
        return new RunFilter(trait, k);
    }
}
