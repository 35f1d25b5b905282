package dev.steer.engine.generation;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.Pending;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.SteerResult;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.model.ResidualHook;
import dev.steer.engine.steering.SteeringPlan;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.engine.telemetry.LayerNorms;
import dev.steer.engine.telemetry.NormTelemetry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The residual hook of a batched forward: at every layer the {@link SteeringPlan} hooks it measures ‖h‖ per (row,
 * slot) before the add, for {@link NormTelemetry}, then adds each group's per-row delta where the layout says the
 * group's positions are (prompt or response slots, read from the {@link StepLayout}). Layers nobody hooks are
 * passed through untouched; a layer hooked only for measurement costs one norm reduction. An optional observer sees
 * the residual after the add (activation capture for extraction).
 */
public final class StepHook implements ResidualHook {
    /** Sees the residual {@code h} [B, T, H] after a hooked layer's add (on the device: read it with toHost). */
    @FunctionalInterface
    interface Observer {
        void afterLayer(int layer, Tensor h, StepLayout layout);
    }

    private final Backend backend;
    private final SteeringPlan plan;
    private final NormTelemetry telemetry;
    private final Observer observer;
    private final int hidden;
    /** Per layer and group: the delta on the device, and the mask of a decode step whose rows all generate. */
    private final Tensor[][] deltas;
    private final Tensor[][] decodeMasks;
    private final float[][][] decodeMaskValues;
    /** The norms of the current step's hooked layers, on the device until {@link #collectLater} queues their copies. */
    private final List<Norms<Tensor>> pending = new ArrayList<>();

    private record Norms<T>(int layer, T values, StepLayout layout) {
    }

    /**
     * A hook for forwards a caller runs itself (a teacher-forced pass, a check): {@code firstToken} per row, its first
     * real token id (to set a leading BOS apart). Call {@link #upload} in a scope that outlives the forwards.
     */
    public StepHook(Backend backend, ModelDims dims, SteeringPlan plan, int[] firstToken) {
        this(backend, plan, new NormTelemetry(dims.layers(), bos(dims, firstToken)), dims.hidden(), null);
    }

    private static boolean[] bos(ModelDims dims, int[] firstToken) {
        boolean[] b = new boolean[firstToken.length];
        for (int r = 0; r < b.length; r++) b[r] = firstToken[r] == dims.bosId();
        return b;
    }

    StepHook(Backend backend, SteeringPlan plan, NormTelemetry telemetry, int hidden, Observer observer) {
        this.backend = backend;
        this.plan = plan;
        this.telemetry = telemetry;
        this.observer = observer;
        this.hidden = hidden;
        this.deltas = new Tensor[plan.layers()][];
        this.decodeMasks = new Tensor[plan.layers()][];
        this.decodeMaskValues = new float[plan.layers()][][];
    }

    /** Uploads the per-row deltas and decode masks; call inside a scope that outlives the forwards that use them. */
    public void upload() {
        int batch = plan.batch();
        for (int l = 0; l < plan.layers(); l++) {
            List<SteeringPlan.Group> gs = plan.groups(l);
            deltas[l] = new Tensor[gs.size()];
            decodeMasks[l] = new Tensor[gs.size()];
            decodeMaskValues[l] = new float[gs.size()][];
            for (int g = 0; g < gs.size(); g++) {
                SteeringPlan.Group group = gs.get(g);
                deltas[l][g] = backend.floats(group.delta(), batch, hidden);
                float[] m = new float[batch];
                if (group.positions().includesResponse()) for (int r = 0; r < batch; r++) if (group.rows()[r]) m[r] = 1f;
                decodeMaskValues[l][g] = m;
                decodeMasks[l][g] = backend.floats(m, batch, 1);
            }
        }
    }

    @Override
    public boolean hooks(int layer) {
        return plan.hooks(layer);
    }

    @Override
    public Tensor afterLayer(int layer, Tensor h, StepLayout layout) {
        return hook(layer, h, null, layout, null);
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
        List<SteeringPlan.Group> gs = plan.groups(layer);
        boolean measured = false;
        for (int g = 0; g < gs.size(); g++) {
            Tensor mask = mask(layer, g, gs.get(g), layout);
            if (mask == null) continue;
            SteerResult r = update != null ? backend.addSteer(h, update, deltas[layer][g], mask, !measured)
                    : backend.steer(h, deltas[layer][g], mask, !measured);
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
        if (observer != null) observer.afterLayer(layer, h, layout);
        return h;
    }

    /** The group's mask for this step [B, T] (1 where it adds), or null when it adds nowhere in it. */
    private Tensor mask(int layer, int g, SteeringPlan.Group group, StepLayout layout) {
        float[] m = new float[layout.batch() * layout.steps()];
        boolean any = false;
        for (int r = 0; r < layout.batch(); r++) {
            if (!group.rows()[r]) continue;
            for (int t = 0; t < layout.steps(); t++) {
                boolean here = layout.isPrompt(r, t) ? group.positions().includesPrompt()
                        : layout.isResponse(r, t) && group.positions().includesResponse();
                if (here) {
                    m[r * layout.steps() + t] = 1f;
                    any = true;
                }
            }
        }
        if (!any) return null;
        // A decode step whose rows all generate: the mask uploaded once (so a replayed step reads the same tensor).
        if (layout.steps() == 1 && Arrays.equals(m, decodeMaskValues[layer][g])) return decodeMasks[layer][g];
        return backend.floats(m, layout.batch(), layout.steps());
    }

    private static Tensor keep(Tensor t, Scope scope) {
        return scope == null ? t : scope.keep(t);
    }

    /** Queues the step's norm copies and adds them to the telemetry at once (the host needs them now). */
    public void collect() {
        collectLater().run();
    }

    /**
     * The norms' copies are queued now (inside the step's scope, after the step's work); the returned action, run
     * later, adds them to the telemetry.
     */
    Runnable collectLater() {
        List<Norms<Pending<float[]>>> queued = new ArrayList<>();
        for (Norms<Tensor> p : pending) queued.add(new Norms<>(p.layer(), backend.toHostLater(p.values()), p.layout()));
        pending.clear();
        return () -> {
            for (Norms<Pending<float[]>> q : queued) telemetry.record(q.layer(), q.values().get(), q.layout());
        };
    }

    /**
     * Row {@code r}'s telemetry, in layer order, over the layers it steers and the layers measured for every row: one
     * entry per spec the row has at a layer (its own coef), else one unsteered entry (coef 0). Layers hooked only for
     * other rows are left out, so a row's telemetry does not depend on what shares its batch.
     */
    public List<HookTelemetry> entries(int r) {
        List<HookTelemetry> out = new ArrayList<>();
        for (int l : plan.layersOf(r)) {
            LayerNorms n = telemetry.at(r, l);
            String hook = HookPoint.residPost(l).name();
            boolean steered = false;
            for (SteeringSpec s : plan.specs(r)) {
                if (s.layer() != l) continue;
                steered = true;
                out.add(HookTelemetry.of(hook, l, s.coef(), s.vector().norm(), s.positions().cliName(),
                        s.positions().includesPrompt(), s.positions().includesResponse(), n));
            }
            if (!steered) out.add(HookTelemetry.of(hook, l, 0, 0, null, true, true, n));
        }
        return out;
    }
}
