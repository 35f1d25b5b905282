package dev.steer.engine.steering;

import dev.steer.engine.model.HookPoint;
import dev.steer.engine.model.ModelDims;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a batch adds where, fixed for as long as its rows are: per row its specs; per layer the groups of specs that
 * share positions, each summed per row into one delta {@code Σ coef × v} [B, H] with the rows it applies to; and
 * the layers hooked at all (steered, or measured for telemetry). Immutable: a batch whose rows change gets a new
 * plan. Every spec is checked against the model here, once.
 */
public final class SteeringPlan {
    /** The specs of one (layer, positions) pair, summed per row. {@code delta} is [batch × hidden], row-major. */
    public record Group(Positions positions, float[] delta, boolean[] rows) {
    }

    private final int batch;
    private final List<List<SteeringSpec>> specs;
    private final List<List<Group>> groups;
    private final boolean[] hooked;
    private final boolean[] measured;

    private SteeringPlan(int batch, List<List<SteeringSpec>> specs, List<List<Group>> groups, boolean[] hooked,
                         boolean[] measured) {
        this.batch = batch;
        this.specs = specs;
        this.groups = groups;
        this.hooked = hooked;
        this.measured = measured;
    }

    /**
     * @param rows          per row, that row's specs (empty: unsteered)
     * @param measureLayers layers measured for every row even where nothing steers
     */
    public static SteeringPlan of(List<List<SteeringSpec>> rows, int[] measureLayers, ModelDims dims) {
        int batch = rows.size(), hidden = dims.hidden();
        boolean[] hooked = new boolean[dims.layers()];
        List<List<Group>> groups = new ArrayList<>();
        for (int l = 0; l < dims.layers(); l++) groups.add(new ArrayList<>());
        List<List<SteeringSpec>> specs = new ArrayList<>();
        for (int r = 0; r < batch; r++) {
            specs.add(List.copyOf(rows.get(r)));
            for (SteeringSpec s : rows.get(r)) {
                s.checkAgainst(dims);
                List<Group> gs = groups.get(s.layer());
                Group g = gs.stream().filter(x -> x.positions() == s.positions()).findFirst().orElse(null);
                if (g == null) gs.add(g = new Group(s.positions(), new float[batch * hidden], new boolean[batch]));
                g.rows()[r] = true;
                float[] v = s.vector().values();
                for (int i = 0; i < hidden; i++) g.delta()[r * hidden + i] += (float) (s.coef() * v[i]);
                hooked[s.layer()] = true;
            }
        }
        boolean[] measured = new boolean[dims.layers()];
        for (int l : measureLayers == null ? new int[0] : measureLayers) {
            HookPoint.residPost(l).checkIn(dims, "measured layer");
            hooked[l] = true;
            measured[l] = true;
        }
        for (int l = 0; l < groups.size(); l++) groups.set(l, List.copyOf(groups.get(l)));
        return new SteeringPlan(batch, List.copyOf(specs), List.copyOf(groups), hooked, measured);
    }

    public int batch() {
        return batch;
    }

    public int layers() {
        return hooked.length;
    }

    /** Whether anything steers or measures at {@code layer}. */
    public boolean hooks(int layer) {
        return layer >= 0 && layer < hooked.length && hooked[layer];
    }

    /** The hooked layers, ascending. */
    public int[] hookedLayers() {
        return java.util.stream.IntStream.range(0, hooked.length).filter(l -> hooked[l]).toArray();
    }

    /** The layers row {@code r}'s telemetry covers: those its specs steer and those measured for every row, ascending. */
    public int[] layersOf(int r) {
        boolean[] mine = measured.clone();
        for (SteeringSpec s : specs.get(r)) mine[s.layer()] = true;
        return java.util.stream.IntStream.range(0, mine.length).filter(l -> mine[l]).toArray();
    }

    /** The groups steering {@code layer} (empty where none). Group arrays are read-only by contract. */
    public List<Group> groups(int layer) {
        return groups.get(layer);
    }

    /** Row {@code r}'s specs, in the order given. */
    public List<SteeringSpec> specs(int r) {
        return specs.get(r);
    }

    @Override
    public String toString() {
        return "SteeringPlan[batch " + batch + ", hooked " + Arrays.toString(hookedLayers()) + "]";
    }
}
