package dev.steer.cli;

/**
 * {@code --precision}: the compute precision asked of the backend. Backends take it by its lower-case name
 * ({@link dev.steer.engine.backend.BackendProvider#open(String, String)}); absent means the backend's default.
 */
enum Precision {
    F32, BF16;

    /** The name a backend takes: {@code f32}, {@code bf16}; null (the backend's default) for null. */
    static String backendName(Precision p) {
        return p == null ? null : LowerCaseEnum.cliName(p);
    }
}
