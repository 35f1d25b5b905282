package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.models.vectors.VectorFile;
import picocli.CommandLine.ITypeConverter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --steer LAYER:COEF:FILE} as written: {@link Converter} parses the text and touches no file; {@link #resolve}
 * reads the vectors (.json or .safetensors) and checks every spec against the model, once.
 */
record SteerArg(int layer, double coef, Path file) {
    static SteerArg parse(String value) {
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
        return new SteerArg(layer, coef, Path.of(parts[2]));
    }

    /**
     * The steering specs: each vector read ({@code vectorKey} picks a tensor of a .safetensors file holding
     * several) and checked against {@code dims} (layer in range, vector length = hidden size, finite coef).
     */
    static List<SteeringSpec> resolve(List<SteerArg> args, String vectorKey, Positions positions, ModelDims dims) {
        List<SteeringSpec> specs = new ArrayList<>();
        for (SteerArg a : args) {
            var data = VectorFile.read(a.file, vectorKey);
            SteeringSpec spec = new SteeringSpec(a.layer, data, a.coef, positions);
            spec.checkAgainst(dims);
            specs.add(spec);
        }
        return specs;
    }

    /** picocli's converter for {@code --steer}: parsing only; a bad value is a {@link BadInputException} naming it. */
    static final class Converter implements ITypeConverter<SteerArg> {
        @Override
        public SteerArg convert(String value) {
            return parse(value);
        }
    }
}
