package dev.steer.engine.steering;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.Pending;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.SteerResult;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.model.ResidualHook;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.engine.telemetry.NormAccumulator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The residual hook of a batched run: at every hooked layer it measures ‖h‖ per (row, position) before the add
 * (telemetry), then adds each row's {@code Σ coef × v} at that row's steered positions. Layers nobody hooks are
 * passed through untouched; a layer hooked only for measurement costs one norm reduction.
 *
 * <p>Norms count real tokens only: padding and each row's first token when it is BOS are excluded. Positions in
 * the prefill step are prompt positions; positions fed back during decoding are response positions.
 */
public final class BatchSteering implements ResidualHook {
    /** Specs of one (layer, positions) group, summed per row into one delta. */
    private static final class Group {
        final Positions positions;
        final float[] delta;
        final boolean[] rows;
        Tensor uploaded;
        /** Decode-step mask [B, 1]: a generated slot is always a real token, so it is just the rows; uploaded once. */
        Tensor decodeMask;

        Group(Positions positions, int batch, int hidden) {
            this.positions = positions;
            this.delta = new float[batch * hidden];
            this.rows = new boolean[batch];
        }
    }

    private final Backend backend;
    private final int batch;
    private final int hidden;
    private final int[] firstToken;
    private final int bosId;
    /** By layer index: the steering groups there (empty where none), and whether the layer is hooked at all. */
    private final List<List<Group>> groups = new ArrayList<>();
    private final boolean[] hooked;
    private final NormAccumulator[][] norms;
    private final List<List<SteeringSpec>> specs;
    private boolean prefill = true;
    /** Norm tensors of the current step, read by {@link #collect()} once the forward has been queued. */
    /** The norms of the current step's hooked layers, on the device until {@link #collectLater} queues their copies. */
    private final List<Norms<Tensor>> pending = new ArrayList<>();

    /** One hooked layer's ‖h‖ per (row, position) of a step: a device tensor, or its queued copy. */
    private record Norms<T>(int layer, T values, StepLayout layout) {
    }
    private boolean[] active;

    /**
     * @param specs per row, that row's steering specs
     * @param measureLayers layers measured for every row even where nothing steers
     * @param firstToken per row, its first real token id (to exclude BOS)
     */
    public BatchSteering(Backend backend, ModelDims dims, List<List<SteeringSpec>> specs, int[] measureLayers, int[] firstToken) {
        this.backend = backend;
        this.batch = specs.size();
        this.hidden = dims.hidden();
        this.firstToken = firstToken;
        this.bosId = dims.bosId();
        this.specs = specs;
        this.hooked = new boolean[dims.layers()];
        for (int l = 0; l < dims.layers(); l++) groups.add(new ArrayList<>());
        for (int r = 0; r < batch; r++) {
            for (SteeringSpec s : specs.get(r)) {
                s.checkAgainst(dims);
                List<Group> gs = groups.get(s.layer());
                Group g = gs.stream().filter(x -> x.positions == s.positions()).findFirst().orElse(null);
                if (g == null) gs.add(g = new Group(s.positions(), batch, hidden));
                g.rows[r] = true;
                float[] v = s.vector().values();
                for (int i = 0; i < hidden; i++) g.delta[r * hidden + i] += (float) (s.coef() * v[i]);
                hooked[s.layer()] = true;
            }
        }
        for (int l : measureLayers == null ? new int[0] : measureLayers) {
            HookPoint.residPost(l).checkIn(dims, "measured layer");
            hooked[l] = true;
        }
        this.norms = new NormAccumulator[batch][dims.layers()];
        for (int r = 0; r < batch; r++) for (int l = 0; l < hooked.length; l++) if (hooked[l]) norms[r][l] = new NormAccumulator();
        this.active = new boolean[batch];
        java.util.Arrays.fill(active, true);
    }

    /** Uploads the per-row deltas; call inside a scope that outlives the generation's steps. */
    public void upload() {
        for (List<Group> gs : groups)
            for (Group g : gs) g.uploaded = backend.floats(g.delta, batch, hidden);
    }

    /**
     * Switches from prompt (prefill) to response (decode) positions; call in the scope that outlives the decode
     * steps (it uploads the decode masks once, instead of once per step and layer).
     */
    public void startDecoding() {
        prefill = false;
        for (List<Group> gs : groups) {
            for (Group g : gs) {
                float[] m = new float[batch];
                for (int r = 0; r < batch; r++) if (g.rows[r]) m[r] = 1f;
                g.decodeMask = backend.floats(m, batch, 1);
            }
        }
    }

    /** Rows that stopped no longer contribute to telemetry. */
    public void setActive(boolean[] active) {
        this.active = active.clone();
    }

    @Override
    public Tensor afterLayer(int layer, Tensor h, StepLayout layout) {
        return hook(layer, h, null, layout, null);
    }

    /** Only the layers something is steered or measured at. */
    @Override
    public boolean hooks(int layer) {
        return layer >= 0 && layer < hooked.length && hooked[layer];
    }

    /** Fuses the layer's residual add into the first norm/steer pass ({@link Backend#addSteer}). */
    @Override
    public Tensor afterLayer(int layer, Tensor h, Tensor update, StepLayout layout, Backend b, Scope layerScope) {
        if (!hooks(layer)) return backend.add(h, update);
        return hook(layer, h, update, layout, layerScope);
    }

    /** {@code update} non-null: the residual is {@code h + update}, added by the first pass. */
    private Tensor hook(int layer, Tensor h, Tensor update, StepLayout layout, Scope layerScope) {
        if (!hooks(layer)) return h;
        List<Group> gs = groups.get(layer);
        boolean measured = false;
        for (Group g : gs) {
            boolean here = prefill ? g.positions.includesPrompt() : g.positions.includesResponse();
            if (!here) continue;
            Tensor mask = !prefill && layout.steps() == 1 ? g.decodeMask : backend.floats(mask(g, layout), layout.batch(), layout.steps());
            SteerResult r = update != null ? backend.addSteer(h, update, g.uploaded, mask, !measured) : backend.steer(h, g.uploaded, mask, !measured);
            update = null;
            if (!measured) pending.add(new Norms<>(layer, keep(r.norms(), layerScope), layout));
            measured = true;
            h = r.residual();
        }
        if (!measured) {
            SteerResult r = update != null ? backend.addSteer(h, update, null, null, true) : backend.steer(h, null, null, true);
            pending.add(new Norms<>(layer, keep(r.norms(), layerScope), layout));
            h = r.residual();
        }
        return h;
    }

    private static Tensor keep(Tensor t, Scope scope) {
        return scope == null ? t : scope.keep(t);
    }

    /**
     * Reads the norms measured during the step just run into the telemetry. Call after each forward, inside the
     * step's scope: the hook itself never copies to the host mid-forward (so a backend can replay the step).
     */
    public void collect() {
        collectLater().run();
    }

    /**
     * {@link #collect} in two halves: the norms' copies are queued now (inside the step's scope, after the step's
     * work), and the returned action, run later, adds them to the telemetry with the rows active at that moment.
     */
    public Runnable collectLater() {
        List<Norms<Pending<float[]>>> queued = new ArrayList<>();
        for (Norms<Tensor> p : pending) queued.add(new Norms<>(p.layer(), backend.toHostLater(p.values()), p.layout()));
        pending.clear();
        return () -> {
            for (Norms<Pending<float[]>> q : queued) record(q.layer(), q.values().get(), q.layout());
        };
    }

    private float[] mask(Group g, StepLayout layout) {
        float[] m = new float[layout.batch() * layout.steps()];
        for (int r = 0; r < layout.batch(); r++) {
            if (!g.rows[r]) continue;
            for (int t = 0; t < layout.steps(); t++) if (layout.isReal(r, t)) m[r * layout.steps() + t] = 1f;
        }
        return m;
    }

    private void record(int layer, float[] n, StepLayout layout) {
        for (int r = 0; r < layout.batch(); r++) {
            if (!active[r]) continue;
            for (int t = 0; t < layout.steps(); t++) {
                if (!layout.isReal(r, t)) continue;
                boolean first = layout.past() + t == layout.padLeft()[r];
                if (first && firstToken[r] == bosId) continue;
                if (prefill) norms[r][layer].addPrompt(n[r * layout.steps() + t]);
                else norms[r][layer].addResponse(n[r * layout.steps() + t]);
            }
        }
    }

    /** Telemetry of row {@code r}: one entry per hooked layer, in layer order. */
    public List<HookTelemetry> telemetry(int r) {
        List<HookTelemetry> out = new ArrayList<>();
        for (int l = 0; l < hooked.length; l++) {
            if (!hooked[l]) continue;
            NormAccumulator acc = norms[r][l];
            double coef = 0, vnorm = 0;
            boolean prompt = true, response = true;
            Map<Positions, Boolean> seen = new LinkedHashMap<>();
            for (SteeringSpec s : specs.get(r)) {
                if (s.layer() != l) continue;
                // Several specs on one layer: report the combined vector's norm with coef 1.
                seen.put(s.positions(), true);
                if (coef == 0 && vnorm == 0) {
                    coef = s.coef();
                    vnorm = s.vector().norm();
                } else {
                    vnorm = combinedNorm(r, l);
                    coef = 1;
                }
                prompt = s.positions().includesPrompt();
                response = s.positions().includesResponse();
            }
            double steered = acc.mean(prompt, response);
            double ratio = coef == 0 ? 0 : Math.abs(coef) * vnorm / steered;
            out.add(new HookTelemetry(HookPoint.residPost(l).name(), l, coef, vnorm, acc.promptMean(), acc.promptCount(),
                    acc.responseMean(), acc.responseCount(), steered, ratio));
        }
        return out;
    }

    private double combinedNorm(int r, int layer) {
        double[] sum = new double[hidden];
        for (SteeringSpec s : specs.get(r)) {
            if (s.layer() != layer) continue;
            float[] v = s.vector().values();
            for (int i = 0; i < hidden; i++) sum[i] += s.coef() * v[i];
        }
        double n = 0;
        for (double x : sum) n += x * x;
        return Math.sqrt(n);
    }
}
