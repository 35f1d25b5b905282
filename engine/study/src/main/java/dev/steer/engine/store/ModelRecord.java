package dev.steer.engine.store;

/**
 * A model the runs were made with. {@code fingerprint} identifies the weights (e.g. SHA-256 over config and
 * safetensors headers, computed by the loader); two checkpoints with the same fingerprint are the same model.
 *
 * @param id 0 until stored
 */
public record ModelRecord(long id, String path, String architecture, int layers, int hidden, String fingerprint) {
    public ModelRecord withId(long newId) {
        return new ModelRecord(newId, path, architecture, layers, hidden, fingerprint);
    }
}
