package dev.steer.cli.check;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ResidualHook;
import dev.steer.engine.generation.StepHook;
import dev.steer.engine.steering.SteeringPlan;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.LoadedModel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Device-check tool (not a user command): teacher-forced logits of every position for token ids in a JSON file,
 * plain and steered at one layer, written as raw little-endian float32 [B, T, V] for tools/device/compare_logits.py.
 * Usage: TeacherForcedLogits MODEL_DIR BACKEND PRECISION IDS.json V.json LAYER COEF OUT_PLAIN OUT_STEERED
 */
public final class TeacherForcedLogits {
    public static void main(String[] a) throws IOException {
        System.setProperty("ai.djl.offline", "true");
        JsonArray rows = JsonParser.parseString(Files.readString(Path.of(a[3]))).getAsJsonArray();
        JsonArray vj = JsonParser.parseString(Files.readString(Path.of(a[4]))).getAsJsonArray();
        int layer = Integer.parseInt(a[5]);
        double coef = Double.parseDouble(a[6]);
        int b = rows.size(), t = rows.get(0).getAsJsonArray().size();
        int[] ids = new int[b * t];
        int[] first = new int[b];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) ids[r * t + i] = rows.get(r).getAsJsonArray().get(i).getAsInt();
            first[r] = ids[r * t];
        }
        float[] v = new float[vj.size()];
        for (int i = 0; i < v.length; i++) v[i] = vj.get(i).getAsFloat();
        try (Backend backend = BackendProvider.open(a[1], a[2]); LoadedModel m = LoadedModel.open(Path.of(a[0]), backend)) {
            CausalLm lm = m.lm();
            write(run(lm, ids, b, t, ResidualHook.NONE, null), Path.of(a[7]));
            SteeringSpec spec = new SteeringSpec(layer, new SteeringVector(v, a[4]), coef, Positions.ALL);
            StepHook steering = new StepHook(backend, lm.dims(), SteeringPlan.of(new ArrayList<>(Collections.nCopies(b, List.of(spec))), null, lm.dims()), first);
            write(run(lm, ids, b, t, steering, steering), Path.of(a[8]));
            System.out.printf("steer teacher-forced logits written: [%d, %d, %d] on %s%n", b, t, lm.dims().vocab(), backend.device());
        }
    }

    private static float[] run(CausalLm lm, int[] ids, int b, int t, ResidualHook hook, StepHook steering) {
        Backend be = lm.backend();
        try (KvCache cache = lm.newCache(b, t); Scope s = be.openScope()) {
            if (steering != null) steering.upload();
            Tensor logits = lm.forward(be.ints(ids, b, t), new StepLayout(b, 0, t, new int[b]), cache, hook, true);
            return be.toHost(logits);
        }
    }

    private static void write(float[] data, Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(buf);
        }
    }
}
