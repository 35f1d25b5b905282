package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.vectors.VectorContents;
import dev.steer.models.vectors.VectorFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code steer vector info|convert}: what a vector file holds, and the same vectors in another format. */
@Command(name = "vector", mixinStandardHelpOptions = true,
        description = {"Inspect and convert steering vector files: .json, .safetensors, .gguf (control vectors of repeng, "
                + "EasySteer, llama.cpp), .pt (torch.save) and .npy."},
        subcommands = {VectorCommand.Info.class, VectorCommand.Convert.class})
final class VectorCommand implements Runnable {
    /** info's JSON keeps null keys and layers (a bare tensor has no key, a .pt no layer), which CommandJson drops. */
    private static final com.google.gson.Gson WITH_NULLS = new com.google.gson.GsonBuilder().setPrettyPrinting()
            .serializeNulls().disableHtmlEscaping().create();

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: info or convert");
    }

    @Command(name = "info", mixinStandardHelpOptions = true,
            description = "Format, dtype, hidden size, every vector the file holds (its key, its layer where the format "
                    + "defines one, its L2 norm) and the file's metadata. A stack lists one entry per row, keyed by its indices.")
    static final class Info implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FILE", description = "The vector file.")
        Path file;

        @Mixin
        OutputFormat format;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            VectorContents c = VectorFile.open(file);
            PrintWriter out = spec.commandLine().getOut();
            if (format.json()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("file", file.toString());
                o.put("format", c.format());
                o.put("dtype", c.dtype());
                o.put("hidden_size", c.hiddenSize() < 0 ? null : c.hiddenSize());
                List<Map<String, Object>> vs = new ArrayList<>();
                for (VectorContents.Entry e : c.vectors()) {
                    Map<String, Object> v = new LinkedHashMap<>();
                    v.put("key", e.key());
                    v.put("layer", c.layered() ? e.layer() : null);
                    v.put("norm", e.vector().norm());
                    vs.add(v);
                }
                o.put("vectors", vs);
                o.put("metadata", c.metadata());
                out.println(WITH_NULLS.toJson(o));
                return 0;
            }
            out.printf("%s: %s, %s, hidden size %s, %d vector%s%s%n", file, c.format(), c.dtype(),
                    c.hiddenSize() < 0 ? "mixed" : Integer.toString(c.hiddenSize()), c.vectors().size(), c.vectors().size() == 1 ? "" : "s",
                    c.layered() ? " (layers " + VectorContents.ranges(c.layers()) + ")" : "");
            out.printf("%-24s %6s %12s%n", "key", "layer", "norm");
            for (VectorContents.Entry e : c.vectors())
                out.printf("%-24s %6s %12.6g%n", e.key() == null ? "(only)" : e.key(),
                        c.layered() && e.layer() != null ? e.layer().toString() : "-", e.vector().norm());
            if (!c.metadata().isEmpty()) {
                out.println("metadata:");
                c.metadata().forEach((k, v) -> out.printf("  %s = %s%n", k, v));
            }
            return 0;
        }
    }

    @Command(name = "convert", mixinStandardHelpOptions = true,
            description = {"Write IN's vectors as OUT, in the format OUT's extension names: .json, .safetensors (one vector) "
                    + "or .gguf (a control vector, one direction.L per layer). Metadata is kept (as text).",
                    "From a GGUF to .gguf every layer is kept; to .json/.safetensors pick one with --layer or --key. From "
                            + "a file holding several vectors (a dict, a stack) pick one with --key; writing a .gguf then "
                            + "needs the layer it is for (--layer), unless the file's metadata names it.",
                    "Example: steer vector convert mean_diffs.pt refusal.gguf --key -1,15 --layer 14"})
    static final class Convert implements Callable<Integer> {
        /** GGUF keys that describe the file itself, written anew rather than copied. */
        private static final Set<String> REGENERATED = Set.of("general.architecture", "general.alignment",
                "controlvector.model_hint", "controlvector.layer_count");

        @Parameters(index = "0", paramLabel = "IN", description = "The vector file to read.")
        Path in;

        @Parameters(index = "1", paramLabel = "OUT", description = "The file to write (.json, .safetensors or .gguf); replaced atomically.")
        Path out;

        @Option(names = "--key", paramLabel = "KEY", description = "The vector to take from IN: a tensor name, dict key, stack indices (e.g. -1,15) or GGUF direction.N.")
        String key;

        @Option(names = "--layer", paramLabel = "L", description = "The layer the vector is for (blocks.L.hook_resid_post): picks direction.L of a GGUF IN, or labels the vector in OUT.")
        Integer layer;

        @Mixin
        OutputFormat format;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
            String to = name.endsWith(".gguf") ? "gguf" : name.endsWith(".safetensors") ? "safetensors" : name.endsWith(".json") ? "json" : null;
            if (to == null) throw new BadInputException("OUT " + out + ": unknown output type (expected .json, .safetensors or .gguf)");
            Path parent = out.toAbsolutePath().getParent();
            if (!Files.isDirectory(parent)) throw new BadInputException("OUT " + out + ": directory " + parent + " does not exist");
            if (Files.isDirectory(out)) throw new BadInputException("OUT " + out + ": is a directory");
            if (layer != null && layer < 0) throw new BadInputException("--layer: must be >= 0, was " + layer);
            VectorContents c = VectorFile.open(in);
            PrintWriter err = spec.commandLine().getErr();
            SortedMap<Integer, SteeringVector> written = new TreeMap<>();
            if (to.equals("gguf")) {
                if (key == null && layer == null && c.layered()) {
                    for (VectorContents.Entry e : c.vectors()) written.put(e.layer(), e.vector());
                } else {
                    SteeringVector v = pick(c);
                    Integer l = layer != null ? layer : v.provenance().layer();
                    if (l == null)
                        throw new BadInputException("--layer: " + in + (key == null ? "" : "#" + key)
                                + " does not say which layer its vector is for; give --layer L to write it as direction.L");
                    written.put(l, v);
                }
                if (written.containsKey(0)) {
                    if (written.size() == 1)
                        throw new BadInputException((layer != null ? "--layer 0" : in.toString()) + ": a GGUF control vector has no slot for layer 0 "
                                + "(llama.cpp adds direction.N to block N's output, N >= 1); write .safetensors or .json instead");
                    written.remove(0);
                    err.println("steer: warning: " + in + ": layer 0 has no slot in a GGUF control vector (llama.cpp rejects direction.0); not written");
                }
                SortedMap<Integer, float[]> byLayer = new TreeMap<>();
                written.forEach((l, v) -> byLayer.put(l, v.values()));
                Map<String, Object> extra = new LinkedHashMap<>();
                c.metadata().forEach((k, v) -> {
                    if (!REGENERATED.contains(k)) extra.put(k.startsWith("controlvector.") || k.startsWith("general.") ? k : "controlvector." + k, v);
                });
                String hint = written.values().iterator().next().provenance().model();
                VectorFile.writeGguf(out, byLayer, hint, extra);
            } else {
                SteeringVector v = key == null && layer != null && c.layered() ? c.atLayer(layer) : pick(c);
                Integer l = layer != null ? layer : v.provenance().layer();
                Map<String, String> meta = new LinkedHashMap<>(c.metadata());
                if (l != null) meta.put("layer", l.toString());
                if (v.provenance().model() != null) meta.putIfAbsent("model", v.provenance().model());
                if (v.provenance().method() != null) meta.putIfAbsent("method", v.provenance().method());
                if (v.provenance().trait() != null) meta.putIfAbsent("trait", v.provenance().trait());
                meta.put("converted_from", in + (key == null ? "" : "#" + key));
                if (to.equals("json")) VectorFile.writeJson(out, v.values(), meta);
                else VectorFile.write(out, v.values(), meta);
                written.put(l == null ? -1 : l, v);
            }
            PrintWriter o = spec.commandLine().getOut();
            if (format.json()) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("in", in.toString());
                r.put("out", out.toString());
                r.put("format", to);
                List<Map<String, Object>> vs = new ArrayList<>();
                written.forEach((l, v) -> {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("layer", l < 0 ? null : l);
                    e.put("norm", v.norm());
                    vs.add(e);
                });
                r.put("vectors", vs);
                o.println(WITH_NULLS.toJson(r));
            } else {
                o.printf("wrote %s (%s, %d vector%s%s)%n", out, to, written.size(), written.size() == 1 ? "" : "s",
                        written.firstKey() < 0 ? "" : ", layers " + VectorContents.ranges(new ArrayList<>(written.keySet())));
            }
            return 0;
        }

        private SteeringVector pick(VectorContents c) {
            return c.select(key, "--key KEY" + (c.layered() ? " or --layer L" : ""));
        }
    }
}
