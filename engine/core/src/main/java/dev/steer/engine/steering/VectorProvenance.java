package dev.steer.engine.steering;

import java.util.Map;

/**
 * Where a steering vector came from, as its file or extraction recorded it; every field but {@code source} may be
 * null when unknown (a plain JSON array knows nothing of itself).
 *
 * @param source   the file it was read from or written to, or a name ("random", "fixture")
 * @param model    the model it was extracted from
 * @param layer    the layer it was extracted at (blocks.L.hook_resid_post); a spec may apply it at another
 * @param method   mean_diff, probe, ...
 * @param pooling  how the prompts' activations were pooled (last, mean), as {@code position} in file metadata
 * @param trait    the trait it steers
 * @param metadata every key its file carried, as strings
 */
public record VectorProvenance(String source, String model, Integer layer, String method, String pooling, String trait,
                               Map<String, String> metadata) {
    public VectorProvenance {
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }

    /** Only a source: nothing else is known. */
    public static VectorProvenance of(String source) {
        return new VectorProvenance(source, null, null, null, null, null, Map.of());
    }

    /** From a vector file's metadata keys (model, layer, method, position, trait), as steer writes them. */
    public static VectorProvenance fromMetadata(String source, Map<String, String> metadata) {
        Integer layer = null;
        String l = metadata.get("layer");
        if (l != null) {
            try {
                layer = Integer.parseInt(l.trim());
            } catch (NumberFormatException e) {
                layer = null;   // a foreign writer's layer label: kept in metadata, not interpreted
            }
        }
        return new VectorProvenance(source, metadata.get("model"), layer, metadata.get("method"),
                metadata.get("position"), metadata.get("trait"), metadata);
    }
}
