package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.generation.RatioSteering;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.vectors.VectorFile;
import picocli.CommandLine.ITypeConverter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --steer LAYER:COEF:FILE[:POSITIONS]} or {@code --steer LAYER:ratio=R:FILE[:POSITIONS]} as written:
 * {@link Converter} parses the text and touches no file; {@link #resolve} reads the vectors (.json or .safetensors)
 * and checks every spec against the model, once; {@link Steering#forPrompt} resolves ratio specs per prompt.
 * <p>
 * The file is everything after the second ':'. It ends in a POSITIONS suffix only when its last ':'-separated part
 * is exactly {@code all}, {@code prompt} or {@code response}; any other last part (a path with a ':' in it) is part
 * of the file name. {@code positions} is null where none was written: the command's {@code --positions} applies.
 *
 * @param mode  whether {@code value} is a coefficient or a perturbation ratio
 * @param value the coefficient ({@link Mode#COEF}, NaN kept for the spec to refuse) or the ratio ({@link Mode#RATIO},
 *              finite, negative for the negative direction)
 */
record SteerArg(int layer, Mode mode, double value, Path file, Positions positions) {
    enum Mode { COEF, RATIO }

    static final String RATIO_PREFIX = "ratio=";

    /** A coefficient spec at the command's default positions (the form earlier versions had). */
    SteerArg(int layer, double coef, Path file) {
        this(layer, Mode.COEF, coef, file, null);
    }

    boolean isRatio() {
        return mode == Mode.RATIO;
    }

    /**
     * The spec written back as {@code --steer} takes it, its positions always spelled out ({@code positions} where
     * it named none, the command's {@code --positions}), so that the text means the same under any {@code --positions}
     * and a file name ending in {@code :all} cannot be read as a suffix.
     */
    String text(Positions dflt) {
        String strength = isRatio() ? RATIO_PREFIX + value : Double.toString(value);
        return layer + ":" + strength + ":" + file + ":" + (positions != null ? positions : dflt).cliName();
    }

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
        String file = parts[2];
        Positions positions = null;
        int last = file.lastIndexOf(':');
        if (last >= 0) {
            String word = file.substring(last + 1);
            for (Positions p : Positions.values())
                if (p.cliName().equals(word)) positions = p;
            if (positions != null) file = file.substring(0, last);
            if (file.isEmpty())
                throw new BadInputException("--steer '" + value + "': no vector file before ':" + word
                        + "'; expected LAYER:COEF:VECTOR_FILE:" + word + ", e.g. 12:8.5:vectors/optimism.safetensors:" + word);
        }
        String strength = parts[1].trim();
        if (strength.startsWith(RATIO_PREFIX)) {
            String r = strength.substring(RATIO_PREFIX.length()).trim();
            double ratio;
            try {
                ratio = Double.parseDouble(r);
            } catch (NumberFormatException e) {
                throw new BadInputException("--steer '" + value + "': ratio '" + r + "' is not a number (expected ratio=R, e.g. 12:ratio=0.6:v.safetensors)");
            }
            if (!Double.isFinite(ratio))
                throw new BadInputException("--steer '" + value + "': ratio '" + r + "' is not a finite number");
            return new SteerArg(layer, Mode.RATIO, ratio, Path.of(file), positions);
        }
        double coef;
        try {
            coef = Double.parseDouble(strength);
        } catch (NumberFormatException e) {
            throw new BadInputException("--steer '" + value + "': coefficient '" + parts[1] + "' is not a number");
        }
        return new SteerArg(layer, Mode.COEF, coef, Path.of(file), positions);
    }

    /**
     * The steering as given: coefficient specs ready, ratio specs waiting for a prompt. Each vector file is read once
     * ({@code vectorKey} picks a tensor of a .safetensors file holding several) and every spec checked against
     * {@code dims} (layer in range, vector length = hidden size, finite coef, a non-zero vector for a ratio), all
     * before any weight loads. {@code positions}: the default for specs that name none.
     */
    static Steering resolve(List<SteerArg> args, String vectorKey, Positions positions, ModelDims dims) {
        Map<Path, SteeringVector> read = new HashMap<>();
        List<SteeringSpec> fixed = new ArrayList<>();
        List<RatioSpec> ratios = new ArrayList<>();
        List<SteeringVector> vectors = new ArrayList<>();
        for (SteerArg a : args) {
            SteeringVector v = read.computeIfAbsent(a.file, f -> VectorFile.read(f, vectorKey));
            vectors.add(v);
            Positions where = a.positions != null ? a.positions : positions;
            if (a.isRatio()) {
                // Checked as a coefficient spec would be (layer, length), then as a ratio (a non-zero vector).
                new SteeringSpec(a.layer, v, 0, where).checkAgainst(dims);
                if (!(v.norm() > 0))
                    throw new BadInputException("--steer " + a.file + ": the vector is all zeros, so no coefficient reaches ratio " + a.value);
                ratios.add(new RatioSpec(a.layer, v, a.value, where));
            } else {
                SteeringSpec spec = new SteeringSpec(a.layer, v, a.value, where);
                spec.checkAgainst(dims);
                fixed.add(spec);
            }
        }
        return new Steering(List.copyOf(args), List.copyOf(vectors), List.copyOf(fixed), List.copyOf(ratios));
    }

    /**
     * {@code --steer} read and checked: {@link #forPrompt} gives one prompt's specs, in the order written;
     * {@code vectors} holds each arg's vector, in the same order.
     */
    record Steering(List<SteerArg> args, List<SteeringVector> vectors, List<SteeringSpec> fixed, List<RatioSpec> ratios) {
        boolean isEmpty() {
            return args.isEmpty();
        }

        boolean hasRatios() {
            return !ratios.isEmpty();
        }

        /**
         * The specs for {@code prompt}, one per {@code --steer} in its order: coefficient specs as given, ratio specs
         * with {@code coef = ratio × ‖h‖ / ‖v‖} from this prompt's own activation norm at the spec's layer, measured
         * after the adds of earlier layers ({@link RatioSteering}).
         */
        List<SteeringSpec> forPrompt(CausalLm lm, int[] prompt) {
            if (ratios.isEmpty()) return fixed;
            List<SteeringSpec> all = RatioSteering.resolve(lm, prompt, fixed, ratios);
            List<SteeringSpec> out = new ArrayList<>();
            int f = 0, r = fixed.size();
            for (SteerArg a : args) out.add(a.isRatio() ? all.get(r++) : all.get(f++));
            return out;
        }
    }

    /** picocli's converter for {@code --steer}: parsing only; a bad value is a {@link BadInputException} naming it. */
    static final class Converter implements ITypeConverter<SteerArg> {
        @Override
        public SteerArg convert(String value) {
            return parse(value);
        }
    }
}
