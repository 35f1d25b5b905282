package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.judge.CachedJudge;
import dev.steer.engine.judge.JudgeCache;
import dev.steer.engine.judge.JudgeSpec;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.model.LayerSelection;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.store.ModelRecord;
import dev.steer.engine.store.RunStore;
import dev.steer.engine.sweep.BatchedResponder;
import dev.steer.engine.sweep.Evaluator;
import dev.steer.engine.sweep.RunContext;
import dev.steer.engine.sweep.RunLog;
import dev.steer.engine.generation.PromptNorms;
import dev.steer.engine.steering.VectorProvenance;
import dev.steer.engine.telemetry.ActivationNorm;
import dev.steer.engine.trait.TraitDataset;
import dev.steer.models.LoadedModel;
import dev.steer.models.vectors.VectorFile;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a sweep or search runs with, opened from {@link EvalOptions} and closed together: the model, the trait
 * and its questions, one vector per layer, the judges (cached), the results store and the evaluator. Inputs that
 * can be checked without the model (trait, judge specs, vector files, lists) are checked before it loads.
 */
final class EvalSession implements AutoCloseable {
    static final String JUDGE_CACHE_FILE = "steer-judge-cache.db";

    final LoadedModel model;
    final TraitDataset trait;
    final List<String> questions;
    final List<int[]> prompts;
    final List<Integer> layers;
    final Map<Integer, SteeringVector> vectors;
    final CachedJudge traitJudge;
    final CachedJudge coherenceJudge;
    final RunLog log;
    final Evaluator evaluator;
    final ProgressReport progress;
    private final Deque<AutoCloseable> open;

    private EvalSession(LoadedModel model, TraitDataset trait, List<String> questions, List<int[]> prompts, List<Integer> layers,
                        Map<Integer, SteeringVector> vectors, CachedJudge traitJudge, CachedJudge coherenceJudge, RunLog log, Evaluator evaluator,
                        ProgressReport progress, Deque<AutoCloseable> open) {
        this.model = model;
        this.trait = trait;
        this.questions = questions;
        this.prompts = prompts;
        this.layers = layers;
        this.vectors = vectors;
        this.traitJudge = traitJudge;
        this.coherenceJudge = coherenceJudge;
        this.log = log;
        this.evaluator = evaluator;
        this.progress = progress;
        this.open = open;
    }

    static EvalSession open(EvalOptions o, String task, boolean quiet) {
        TraitDataset trait = o.loadTrait();
        JudgeSpec traitSpec = JudgeSpec.parse(o.judge, "--judge");
        if (traitSpec.kind() == JudgeSpec.Kind.PERPLEXITY)
            throw new BadInputException("--judge perplexity: the perplexity judge scores coherence only; use it with --coherence-judge");
        JudgeSpec coherenceSpec = o.coherenceJudge != null ? JudgeSpec.parse(o.coherenceJudge, "--coherence-judge")
                : traitSpec.kind() == JudgeSpec.Kind.ONNX ? new JudgeSpec(JudgeSpec.Kind.PERPLEXITY, "") : traitSpec;
        Positions positions = o.positions;
        int numLayers = LoadedModel.inspect(o.model.model).numLayers();
        List<Integer> layers = Arrays.stream(LayerSelection.parse(o.layers, numLayers, "--layers")).boxed().toList();
        if (o.batchSize < 1) throw new BadInputException("--batch-size: must be at least 1, was " + o.batchSize);
        List<String> questions = trait.questions();
        if (o.questions != null) {
            if (o.questions < 1 || o.questions > questions.size())
                throw new BadInputException("--questions " + o.questions + ": trait " + trait.name() + " has " + questions.size()
                        + " eval questions; give 1.." + questions.size());
            questions = questions.subList(0, o.questions);
        }
        GenerationOptions generation = new GenerationOptions(o.maxNewTokens, o.temperature, 1, o.seed, true, null, false);
        Map<Integer, SteeringVector> data = readVectors(o.vectors, o.method, layers);

        Deque<AutoCloseable> open = new ArrayDeque<>();
        try {
            Backend backend = o.model.openBackend();
            open.push(backend);
            LoadedModel model = o.model.load(backend);
            open.push(model);
            Map<Integer, SteeringVector> vectors = new LinkedHashMap<>();
            for (int l : layers) {
                HookPoint.residPost(l).checkIn(model.lm().dims(), "--layers");
                SteeringVector v = withMethod(data.get(l), o.method);
                new SteeringSpec(l, v, 0, positions).checkAgainst(model.lm().dims());
                vectors.put(l, v);
            }
            String fingerprint = ModelFingerprint.of(o.model.model);
            RunStore store = RunStore.open(o.db);
            open.push(store);
            JudgeCache cache = JudgeCache.open(o.db.toAbsolutePath().resolveSibling(JUDGE_CACHE_FILE));
            open.push(cache);
            JudgeFactory.Flags flags = new JudgeFactory.Flags(o.judgeOptions, fingerprint, o.chat);
            CachedJudge traitJudge = JudgeFactory.create(traitSpec, model, flags, cache);
            open.push(traitJudge);
            CachedJudge coherenceJudge = JudgeFactory.create(coherenceSpec, model, flags, cache);
            open.push(coherenceJudge);
            ModelRecord modelRecord = store.saveModel(new ModelRecord(0, o.model.model.toString(), model.lm().dims().architecture(),
                    model.lm().dims().layers(), model.lm().dims().hidden(), fingerprint));
            List<int[]> prompts = questions.stream().map(q -> model.encodePrompt(q, o.chat, "--trait " + trait.name() + " question")).toList();
            ProgressReport progress = new ProgressReport(task, quiet);
            open.push(progress);
            // The trait name keys runs: a trait file's name, not its path, so moving the file keeps resume working.
            RunContext.Setup setup = new RunContext.Setup(o.chat, compute(o, backend), RunContext.traitSha256(trait),
                    traitJudge.scoreIdentity(), coherenceJudge.scoreIdentity());
            RunContext context = new RunContext(modelRecord, trait.name(), questions, positions, traitJudge.id(),
                    coherenceJudge.id(), generation, setup);
            Map<Integer, Double> norms = new java.util.HashMap<>();
            RunLog log = new RunLog(store, context, vectors, layer -> norms.computeIfAbsent(layer,
                    l -> PromptNorms.activationNorm(model.lm(), prompts, l, o.batchSize).mean()));
            BatchedResponder responder = new BatchedResponder(model.lm(), prompts, ids -> model.tokenizer().decode(ids),
                    generation, positions, o.batchSize, progress);
            Evaluator evaluator = new Evaluator(trait, questions, responder, traitJudge, coherenceJudge);
            return new EvalSession(model, trait, questions, prompts, layers, vectors, traitJudge, coherenceJudge, log,
                    evaluator, progress, open);
        } catch (RuntimeException e) {
            closeAll(open);
            throw e;
        }
    }

    /**
     * The backend and precision for the run key: the precision as asked ({@code default} when not given), so a run
     * is never reused across precisions; asking explicitly for the default only costs a reuse.
     */
    private static String compute(EvalOptions o, Backend backend) {
        String p = Precision.backendName(o.model.backend.precision);
        return backend.name() + ":" + (p == null ? "default" : p);
    }

    /**
     * When a judge left answers unscored, one line each on {@code err} saying how many and why (the judge's last
     * problem), and that a rerun asks again: runs with missing scores are stored but never reused.
     */
    void explainMissingScores(PrintWriter err) {
        explain(err, "trait", traitJudge);
        if (coherenceJudge != traitJudge) explain(err, "coherence", coherenceJudge);
    }

    private void explain(PrintWriter err, String what, CachedJudge judge) {
        int n = judge.unscored();
        if (n == 0) return;
        err.println("steer: warning: " + n + " answer" + (n == 1 ? "" : "s") + " got no " + what + " score from judge " + judge.id()
                + ": " + judge.lastProblem().orElse("the judge gave no reason") + "; those runs are stored unscored and a rerun asks the judge again");
        err.flush();
    }

    /** ‖h_L‖ on the questions per layer ({@link ActivationNorm}: BOS excluded, pooled over tokens): what ratios convert with. */
    double[] questionNorms(int batchSize) {
        int[] ls = layers.stream().mapToInt(Integer::intValue).toArray();
        PromptNorms norms = PromptNorms.measure(model.lm(), prompts, ls, batchSize, "--layers");
        double[] out = new double[ls.length];
        for (int i = 0; i < out.length; i++) out[i] = norms.activationNorm(ls[i]).mean();
        return out;
    }

    /** The vector as the run store records it: the method is the file name's (the sweep's --method), as before. */
    private static SteeringVector withMethod(SteeringVector v, String method) {
        VectorProvenance p = v.provenance();
        return new SteeringVector(v.values(), new VectorProvenance(p.source(), p.model(), p.layer(), method,
                p.pooling(), p.trait(), p.metadata()));
    }

    /**
     * Reads DIR/{method}_layer{L}.safetensors for every layer, or {@code direction.L} of DIR/{method}.gguf where that
     * file is absent (a GGUF control vector holds every layer), naming what is missing if neither has the layer.
     */
    static Map<Integer, SteeringVector> readVectors(Path dir, String method, List<Integer> layers) {
        if (!method.matches("[A-Za-z0-9_]+"))
            throw new BadInputException("--method '" + method + "': expected a method name such as mean_diff or probe");
        if (!Files.isDirectory(dir)) throw new BadInputException("--vectors " + dir + ": not a directory");
        Map<Integer, SteeringVector> out = new LinkedHashMap<>();
        Path gguf = dir.resolve(method + ".gguf");
        dev.steer.models.vectors.VectorContents control = null;
        for (int l : layers) {
            Path f = dir.resolve(method + "_layer" + l + ".safetensors");
            if (!Files.isRegularFile(f) && Files.isRegularFile(gguf)) {
                if (control == null) control = VectorFile.open(gguf);
                try {
                    out.put(l, control.atLayer(l));
                } catch (BadInputException e) {
                    throw new BadInputException("--vectors " + dir + ": no " + f.getFileName() + " for layer " + l + ", and " + e.getMessage(), e);
                }
                continue;
            }
            if (!Files.isRegularFile(f))
                throw new BadInputException("--vectors " + dir + ": no " + f.getFileName() + " for layer " + l
                        + " (expected {method}_layer{L}.safetensors or {method}.gguf, as steer extract writes)");
            out.put(l, VectorFile.read(f, null));
        }
        return out;
    }

    String judgeSummary() {
        return "trait judge " + traitJudge.id() + ", coherence judge " + coherenceJudge.id();
    }

    @Override
    public void close() {
        closeAll(open);
    }

    private static void closeAll(Deque<AutoCloseable> open) {
        RuntimeException first = null;
        while (!open.isEmpty()) {
            try {
                open.pop().close();
            } catch (Exception e) {
                if (first == null) first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
        }
        if (first != null) throw first;
    }
}
