package dev.steer.engine.store;

/**
 * A steering vector. {@code sha256} is over its values as little-endian float32, so the same vector loaded from
 * JSON or safetensors gets the same hash; {@code vectorNorm} is its L2 norm.
 *
 * @param id 0 until stored
 * @param position where it was extracted from (e.g. "response", "prompt_last"), as the extractor names it
 * @param file where it was loaded from or saved to; may be null
 */
public record VectorRecord(long id, long modelId, String trait, int layer, String method, String position,
                           double vectorNorm, String file, String sha256) {
    public VectorRecord withId(long newId) {
        return new VectorRecord(newId, modelId, trait, layer, method, position, vectorNorm, file, sha256);
    }
}
