package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.models.vectors.VectorFile;

import java.nio.file.Path;

/** Parses {@code --steer LAYER:COEF:FILE}; the vector is read from a .json or .safetensors file. */
final class SteerOption {
    private SteerOption() {
    }

    static SteeringSpec parse(String value, String vectorKey, Positions positions) {
        String[] parts = value.split(":", 3);
        if (parts.length != 3 || parts[2].isEmpty())
            throw new BadInputException("--steer '" + value + "': expected LAYER:COEF:VECTOR_FILE, e.g. 12:8.5:vectors/optimism.safetensors");
        int layer;
        try {
            layer = Integer.parseInt(parts[0].trim());
        } catch (NumberFormatException e) {
            throw new BadInputException("--steer '" + value + "': layer '" + parts[0] + "' is not an integer");
        }
        double coef;
        try {
            coef = Double.parseDouble(parts[1].trim());
        } catch (NumberFormatException e) {
            throw new BadInputException("--steer '" + value + "': coefficient '" + parts[1] + "' is not a number");
        }
        if (!Double.isFinite(coef)) throw new BadInputException("--steer '" + value + "': coefficient must be finite");
        Path file = Path.of(parts[2]);
        return new SteeringSpec(layer, VectorFile.read(file, vectorKey), coef, positions);
    }
}
