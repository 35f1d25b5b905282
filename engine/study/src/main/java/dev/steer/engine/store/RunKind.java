package dev.steer.engine.store;

/** Why a run was made; stored lower-case in {@code runs.kind}. */
public enum RunKind {
    /** Unsteered generation for a trait: the reference its steered runs' delta is taken against. */
    BASELINE,
    /** One point of a coefficient sweep. */
    SWEEP,
    /** One step of an adaptive coefficient search ({@code search_step} says which). */
    SEARCH;

    public String dbName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static RunKind fromDb(String s) {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT));
    }
}
