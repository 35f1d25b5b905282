package dev.steer.engine.store;

/**
 * How a stored run ended. A run is only ever written whole (see {@link RunStore#saveRun}), so there is no
 * "in progress" state: a run that did not finish is simply absent.
 */
public enum RunStatus {
    /** Generated and judged; the means are set unless every score of that kind was missing. */
    COMPLETE,
    /** Generated, but judging failed for the run as a whole; its answers are kept with NULL scores. */
    UNSCORED;

    public String dbName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static RunStatus fromDb(String s) {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT));
    }
}
