package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.generation.RatioSteering;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.vectors.VectorContents;
import dev.steer.models.vectors.VectorFile;
import picocli.CommandLine.ITypeConverter;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --steer LAYER:COEF:FILE[#KEY][:POSITIONS]} or {@code --steer LAYER:ratio=R:FILE[#KEY][:POSITIONS]} as
 * written: {@link Converter} parses the text and reads no file (it only asks whether a file whose name holds a '#'
 * exists, see below); {@link #resolve} reads the vectors (any file
 * {@link VectorFile} reads) and checks every spec against the model, once; {@link Steering#forPrompt} resolves
 * ratio specs per prompt.
 * <p>
 * The file is everything after the second ':'. It ends in a POSITIONS suffix only when its last ':'-separated part
 * is exactly {@code all}, {@code prompt} or {@code response}; any other last part (a path with a ':' in it) is part
 * of the file name. {@code positions} is null where none was written: the command's {@code --positions} applies.
 * A {@code #KEY} after the file picks one vector of several for this spec alone (a dict key, stack indices such as
 * {@code -1,15}, a GGUF {@code direction.N}); where the whole text names an existing file and the part before the
 * last '#' does not, the '#' is part of the file's name. A GGUF control vector's layer comes from the spec: {@code 12:...}
 * takes {@code direction.12}, and LAYER {@code all} steers every layer the file has (llama.cpp's
 * {@code --control-vector}), one spec per layer.
 *
 * @param mode       whether {@code value} is a coefficient or a perturbation ratio
 * @param value      the coefficient ({@link Mode#COEF}, NaN kept for the spec to refuse) or the ratio
 *                   ({@link Mode#RATIO}, finite, negative for the negative direction)
 * @param key        the vector to pick from the file ({@code #KEY}), null for none
 * @param everyLayer LAYER was {@code all}: {@code layer} is meaningless until {@link #resolve} expands it
 */
record SteerArg(int layer, Mode mode, double value, Path file, Positions positions, String key, boolean everyLayer) {
    enum Mode { COEF, RATIO }

    static final String RATIO_PREFIX = "ratio=";
    static final String EVERY_LAYER = "all";

    /** A coefficient spec at the command's default positions (the form earlier versions had). */
    SteerArg(int layer, double coef, Path file) {
        this(layer, Mode.COEF, coef, file, null);
    }

    /** A spec at one layer taking the file's only vector (or the one its layer picks). */
    SteerArg(int layer, Mode mode, double value, Path file, Positions positions) {
        this(layer, mode, value, file, positions, null, false);
    }

    /** The file as written, with its key: what messages name. */
    String fileText() {
        return key == null ? file.toString() : file + "#" + key;
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
        return layer + ":" + strength + ":" + fileText() + ":" + (positions != null ? positions : dflt).cliName();
    }

    static SteerArg parse(String value) {
        String[] parts = value.split(":", 3);
        if (parts.length != 3 || parts[2].isEmpty())
            throw new BadInputException("--steer '" + value + "': expected LAYER:COEF:VECTOR_FILE, e.g. 12:8.5:vectors/optimism.safetensors");
        int layer = -1;
        boolean every = parts[0].trim().equals(EVERY_LAYER);
        if (!every) {
            try {
                layer = Integer.parseInt(parts[0].trim());
            } catch (NumberFormatException e) {
                throw new BadInputException("--steer '" + value + "': layer '" + parts[0] + "' is not an integer");
            }
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
        String key = null;
        int hash = file.lastIndexOf('#');
        // A '#' that is part of an existing file's name (run#3.safetensors) is no key: the one file-system look the
        // parse takes, and only where a '#' is there to tell apart.
        if (hash >= 0 && java.nio.file.Files.isRegularFile(Path.of(file)) && !java.nio.file.Files.isRegularFile(Path.of(file.substring(0, hash))))
            hash = -1;
        if (hash >= 0) {
            key = file.substring(hash + 1);
            file = file.substring(0, hash);
            if (file.isEmpty() || key.isBlank())
                throw new BadInputException("--steer '" + value + "': expected FILE#KEY with both parts, e.g. 12:8.5:mean_diffs.pt#-1,12");
            if (every)
                throw new BadInputException("--steer '" + value + "': 'all' steers every layer of the file, '#" + key
                        + "' picks one vector: give a layer with the key, or no key with 'all'");
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
            return new SteerArg(layer, Mode.RATIO, ratio, Path.of(file), positions, key, every);
        }
        double coef;
        try {
            coef = Double.parseDouble(strength);
        } catch (NumberFormatException e) {
            throw new BadInputException("--steer '" + value + "': coefficient '" + parts[1] + "' is not a number");
        }
        return new SteerArg(layer, Mode.COEF, coef, Path.of(file), positions, key, every);
    }

    /** {@link #resolve} without warnings (tests). */
    static Steering resolve(List<SteerArg> args, String vectorKey, Positions positions, ModelDims dims) {
        return resolve(args, vectorKey, positions, dims, null);
    }

    /**
     * The steering as given: coefficient specs ready, ratio specs waiting for a prompt, {@code all} specs expanded to
     * one per layer of their file. Each vector file is read once; a spec's vector is its {@code #KEY}'s, else a
     * GGUF file's vector for the spec's layer, else the one {@code vectorKey} picks (or the file's only one). Every
     * spec is checked against {@code dims} (layer in range, vector length = hidden size, finite coef, a non-zero
     * vector for a ratio), all before any weight loads. {@code positions}: the default for specs that name none.
     * {@code err}: where a vector file naming another model is warned about (null: not warned).
     */
    static Steering resolve(List<SteerArg> args, String vectorKey, Positions positions, ModelDims dims, PrintWriter err) {
        Map<Path, VectorContents> opened = new HashMap<>();
        Map<String, SteeringVector> read = new HashMap<>();
        Set<Path> warned = new HashSet<>();
        List<String> warnings = new ArrayList<>();
        List<SteerArg> expanded = new ArrayList<>();
        List<SteeringSpec> fixed = new ArrayList<>();
        List<RatioSpec> ratios = new ArrayList<>();
        List<SteeringVector> vectors = new ArrayList<>();
        for (SteerArg given : args) {
            boolean layered = VectorFile.isLayered(given.file);
            VectorContents contents = layered ? opened.computeIfAbsent(given.file, VectorFile::open) : null;
            List<SteerArg> specs = new ArrayList<>();
            if (given.everyLayer) {
                if (!layered)
                    throw new BadInputException("--steer " + given.file + ": LAYER 'all' needs a file with one vector per layer (a GGUF control vector); name a layer");
                for (int l : contents.layers())
                    specs.add(new SteerArg(l, given.mode, given.value, given.file, given.positions, null, false));
                if (specs.isEmpty()) throw new BadInputException("--steer " + given.file + ": holds no direction.N tensor");
            } else {
                specs.add(given);
            }
            for (SteerArg a : specs) {
                SteeringVector v;
                if (contents != null) v = a.key != null ? contents.select(a.key) : contents.atLayer(a.layer);
                else {
                    String k = a.key != null ? a.key : vectorKey;
                    v = read.computeIfAbsent(a.file + "#" + k, x -> VectorFile.read(a.file, k));
                }
                if (err != null && warned.add(a.file)) {
                    String w = VectorFile.modelMismatch(v);
                    if (w != null) warnings.add(w);
                }
                expanded.add(a);
                vectors.add(v);
                resolveOne(a, v, positions, dims, fixed, ratios);
            }
        }
        // Warned only once every spec passed its checks: bad input stays one line on stderr.
        for (String w : warnings) err.println("steer: warning: " + w);
        return new Steering(List.copyOf(expanded), List.copyOf(vectors), List.copyOf(fixed), List.copyOf(ratios));
    }

    private static void resolveOne(SteerArg a, SteeringVector v, Positions positions, ModelDims dims,
                                   List<SteeringSpec> fixed, List<RatioSpec> ratios) {
        {
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
