package dev.steer.engine.judge;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A sequence classifier exported to ONNX (a Hugging Face {@code AutoModelForSequenceClassification} export),
 * scoring each answer as 100 × p(label) with p the softmax of the logits.
 *
 * <p>The directory holds {@code model.onnx}, with int64 inputs {@code input_ids} and {@code attention_mask} of
 * shape [batch, seq] (and optionally {@code token_type_ids}, fed zeros) and an output {@code logits} [batch,
 * labels], and {@code config.json} with {@code id2label}. Only {@link JudgeItem#answer()} is classified; the
 * question and judge prompt are for LLM judges. Rows are right-padded with id 0 and mask 0, up to
 * {@value #MAX_BATCH} per run. Tokenization lives in the models module, so the caller passes a tokenizer that
 * returns the ids the classifier was trained with (special tokens included); when config.json states
 * {@code max_position_embeddings}, longer answers are cut to that many tokens.
 */
public final class OnnxJudge implements Judge {

    public static final int MAX_BATCH = 16;
    private static final String INPUT_IDS = "input_ids";
    private static final String ATTENTION_MASK = "attention_mask";
    private static final String TOKEN_TYPE_IDS = "token_type_ids";

    private final Path dir;
    private final String label;
    private final int labelId;
    private final int numLabels;
    private final int maxTokens;
    private final Function<String, int[]> tokenizer;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final boolean wantsTokenTypes;

    private OnnxJudge(Path dir, String label, int labelId, int numLabels, int maxTokens,
                      Function<String, int[]> tokenizer, OrtEnvironment env, OrtSession session, boolean wantsTokenTypes) {
        this.dir = dir;
        this.label = label;
        this.labelId = labelId;
        this.numLabels = numLabels;
        this.maxTokens = maxTokens;
        this.tokenizer = tokenizer;
        this.env = env;
        this.session = session;
        this.wantsTokenTypes = wantsTokenTypes;
    }

    /**
     * Opens the classifier in {@code dir}.
     *
     * @param label     the id2label name whose probability is the score; null means the label with id 1 (for a
     *                  binary classifier trained as 0 = trait absent, 1 = trait present)
     * @param tokenizer text → token ids, as the classifier's own tokenizer produces them
     * @throws BadInputException when model.onnx or config.json is missing or unusable, or the label is unknown
     */
    public static OnnxJudge open(Path dir, String label, Function<String, int[]> tokenizer) {
        Path modelFile = dir.resolve("model.onnx");
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(modelFile)) {
            throw new BadInputException("ONNX judge: " + modelFile + " not found (expected an exported classifier)");
        }
        JsonObject config = readConfig(configFile);
        Map<Integer, String> id2label = readId2Label(config, configFile);
        int maxTokens = readMaxPositions(config);
        int labelId = pickLabel(id2label, label, configFile);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session;
        try {
            session = env.createSession(modelFile.toString(), new OrtSession.SessionOptions());
        } catch (OrtException e) {
            throw new BadInputException("ONNX judge: " + modelFile + " cannot be loaded: " + oneLine(e), e);
        }
        try {
            Set<String> inputs = session.getInputNames();
            Set<String> known = Set.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS);
            if (!inputs.contains(INPUT_IDS) || !inputs.contains(ATTENTION_MASK) || !known.containsAll(inputs)) {
                throw new BadInputException("ONNX judge: " + modelFile + " has inputs " + inputs
                        + "; expected input_ids, attention_mask and optionally token_type_ids");
            }
            for (Map.Entry<String, NodeInfo> in : session.getInputInfo().entrySet()) {
                if (!(in.getValue().getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.INT64) {
                    throw new BadInputException("ONNX judge: " + modelFile + " input " + in.getKey()
                            + " is " + in.getValue().getInfo() + "; expected an int64 tensor");
                }
            }
        } catch (OrtException | BadInputException e) {
            closeQuietly(session);
            if (e instanceof BadInputException b) {
                throw b;
            }
            throw new BadInputException("ONNX judge: " + modelFile + " inputs unreadable: " + oneLine(e), e);
        }
        return new OnnxJudge(dir, id2label.get(labelId), labelId, id2label.size(), maxTokens, tokenizer, env, session,
                session.getInputNames().contains(TOKEN_TYPE_IDS));
    }

    /** {@code onnx:DIR#LABEL}: the label is part of the identity because each label gives different scores. */
    @Override
    public String id() {
        return "onnx:" + dir + "#" + label;
    }

    public String label() {
        return label;
    }

    @Override
    public List<OptionalDouble> score(List<JudgeItem> items) {
        List<int[]> ids = new ArrayList<>(items.size());
        for (JudgeItem item : items) {
            int[] t = tokenizer.apply(item.answer());
            ids.add(t.length > maxTokens ? Arrays.copyOf(t, maxTokens) : t);
        }
        List<OptionalDouble> out = new ArrayList<>(items.size());
        double[][] logits = logits(ids);
        for (double[] row : logits) {
            double p = softmax(row)[labelId];
            out.add(Double.isFinite(p) ? OptionalDouble.of(100 * p) : OptionalDouble.empty());
        }
        return out;
    }

    /**
     * Raw logits [rows][labels] for already tokenized inputs, run in padded batches of up to {@value #MAX_BATCH}.
     * An empty row cannot be classified and gets NaN logits.
     */
    public double[][] logits(List<int[]> tokenIds) {
        double[][] out = new double[tokenIds.size()][];
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < tokenIds.size(); i++) {
            if (tokenIds.get(i).length == 0) {
                out[i] = new double[numLabels];
                Arrays.fill(out[i], Double.NaN);
            } else {
                rows.add(i);
            }
        }
        for (int start = 0; start < rows.size(); start += MAX_BATCH) {
            List<Integer> batch = rows.subList(start, Math.min(rows.size(), start + MAX_BATCH));
            double[][] got = runBatch(batch.stream().map(tokenIds::get).toList());
            for (int b = 0; b < batch.size(); b++) {
                out[batch.get(b)] = got[b];
            }
        }
        return out;
    }

    private double[][] runBatch(List<int[]> rows) {
        int batch = rows.size();
        int seq = rows.stream().mapToInt(r -> r.length).max().orElse(0);
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            int[] r = rows.get(b);
            for (int s = 0; s < r.length; s++) {
                ids[b * seq + s] = r[s];
                mask[b * seq + s] = 1;
            }
        }
        long[] shape = {batch, seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(INPUT_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            inputs.put(ATTENTION_MASK, OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (wantsTokenTypes) {
                inputs.put(TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                OnnxValue value = result.get("logits").orElse(result.get(0));
                if (!(value instanceof OnnxTensor logits) || logits.getInfo().getShape().length != 2
                        || logits.getInfo().getShape()[0] != batch || logits.getInfo().getShape()[1] != numLabels) {
                    throw new BadInputException("ONNX judge: " + dir.resolve("model.onnx") + " output is "
                            + value.getInfo() + "; expected logits [" + batch + ", " + numLabels + "] to match id2label");
                }
                FloatBuffer flat = logits.getFloatBuffer();
                double[][] out = new double[batch][numLabels];
                for (int b = 0; b < batch; b++) {
                    for (int l = 0; l < numLabels; l++) {
                        out[b][l] = flat.get(b * numLabels + l);
                    }
                }
                return out;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX judge " + id() + ": inference failed: " + oneLine(e), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** Softmax with the maximum subtracted first, so large logits do not overflow exp. */
    static double[] softmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : logits) {
            max = Math.max(max, x);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static JsonObject readConfig(Path configFile) {
        if (!Files.isRegularFile(configFile)) {
            throw new BadInputException("ONNX judge: " + configFile + " not found (needs id2label)");
        }
        try {
            JsonElement root = JsonParser.parseString(Files.readString(configFile));
            if (!root.isJsonObject()) {
                throw new BadInputException("ONNX judge: " + configFile + " is not a JSON object");
            }
            return root.getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            if (e instanceof BadInputException b) {
                throw b;
            }
            throw new BadInputException("ONNX judge: " + configFile + " is not readable JSON: " + oneLine(e), e);
        }
    }

    private static Map<Integer, String> readId2Label(JsonObject config, Path configFile) {
        JsonElement map = config.get("id2label");
        if (map == null || !map.isJsonObject() || map.getAsJsonObject().size() < 2) {
            throw new BadInputException("ONNX judge: " + configFile + " has no id2label with at least two labels");
        }
        Map<Integer, String> id2label = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : map.getAsJsonObject().entrySet()) {
            try {
                id2label.put(Integer.parseInt(e.getKey().strip()), e.getValue().getAsString());
            } catch (RuntimeException ex) {
                throw new BadInputException("ONNX judge: " + configFile + " id2label entry '" + e.getKey()
                        + "' is not an integer id with a string label");
            }
        }
        int expected = 0;
        for (int id : id2label.keySet()) {
            if (id != expected++) {
                throw new BadInputException("ONNX judge: " + configFile + " id2label ids " + id2label.keySet()
                        + " are not 0.." + (id2label.size() - 1));
            }
        }
        return id2label;
    }

    private static int readMaxPositions(JsonObject config) {
        JsonElement max = config.get("max_position_embeddings");
        return max != null && max.isJsonPrimitive() && max.getAsJsonPrimitive().isNumber()
                ? max.getAsInt() : Integer.MAX_VALUE;
    }

    private static int pickLabel(Map<Integer, String> id2label, String label, Path configFile) {
        if (label == null || label.isBlank()) {
            return 1;
        }
        for (Map.Entry<Integer, String> e : id2label.entrySet()) {
            if (e.getValue().equals(label.strip())) {
                return e.getKey();
            }
        }
        throw new BadInputException("ONNX judge label '" + label + "' is not in " + configFile + " id2label "
                + id2label.values());
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException ignored) {
            // best effort: the session is being abandoned anyway
        }
    }

    private static String oneLine(Exception e) {
        return String.valueOf(e.getMessage()).replaceAll("\\s+", " ");
    }

    @Override
    public void close() {
        closeQuietly(session);
    }
}
