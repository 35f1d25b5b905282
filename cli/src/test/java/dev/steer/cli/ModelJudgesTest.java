package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import dev.steer.engine.judge.JudgeItem;
import dev.steer.engine.judge.PerplexityJudge;
import dev.steer.engine.judge.SelfJudge;
import dev.steer.models.LoadedModel;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The self and perplexity judges on the tiny Gemma-2 against the transformers reference logits of the fixture's
 * detail prompt (every position): prompt ids are fed directly through the encoders.
 */
class ModelJudgesTest {
    @Test
    void perplexityAndSelfJudgeMatchTheReferenceLogits() throws Exception {
        JsonObject ref = JsonParser.parseString(Files.readString(CliRun.REFERENCE)).getAsJsonObject();
        JsonObject detail = ref.getAsJsonObject("detail");
        JsonArray idsJson = ref.getAsJsonArray("prompts").get(detail.get("prompt_index").getAsInt()).getAsJsonObject().getAsJsonArray("ids");
        int[] ids = new int[idsJson.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = idsJson.get(i).getAsInt();
        JsonArray logits = detail.getAsJsonArray("logits");
        int split = 10;
        int[] question = Arrays.copyOf(ids, split), answer = Arrays.copyOfRange(ids, split, ids.length);
        double expectedMean = 0;
        for (int t = split; t < ids.length; t++) expectedMean += logSoftmax(logits.get(t - 1).getAsJsonArray(), ids[t]);
        expectedMean /= answer.length;

        try (Backend b = BackendProvider.open("cpu", "f32"); LoadedModel m = LoadedModel.open(CliRun.TINY, b)) {
            PerplexityJudge ppl = new PerplexityJudge("tiny", m.lm(), q -> q.equals("Q") ? question : new int[] {2},
                    a -> a.equals("A") ? answer : new int[0]);
            List<OptionalDouble> s = ppl.score(List.of(new JudgeItem("p", "Q", "A"), new JudgeItem("p", "other", ""),
                    new JudgeItem("p2", "Q", "A")));
            assertEquals(PerplexityJudge.score(expectedMean), s.get(0).getAsDouble(), 1e-2);
            assertTrue(s.get(1).isEmpty(), "an empty answer has no score");
            assertEquals(s.get(0).getAsDouble(), s.get(2).getAsDouble(), 1e-4, "batched rows are independent");

            // Self judge: next-token distribution after the whole prompt = the reference's last-position logits.
            JsonArray last = logits.get(ids.length - 1).getAsJsonArray();
            SelfJudge self = new SelfJudge("tiny", m.lm(), text -> ids, id -> "id" + id);
            Map<String, Double> top = self.topLogprobs("anything");
            assertEquals(20, top.size());
            Integer[] order = new Integer[last.size()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (x, y) -> Double.compare(last.get(y).getAsDouble(), last.get(x).getAsDouble()));
            for (int k = 0; k < 20; k++)
                assertEquals(logSoftmax(last, order[k]), top.get("id" + order[k]), 2e-3, "top token " + k);
            // The tiny model puts ~16% on its top 20 tokens: below the 0.25 numeric mass, so even an all-numeric
            // decoding leaves the answer unscored rather than scored from a sliver of probability.
            SelfJudge numeric = new SelfJudge("tiny", m.lm(), text -> ids, id -> Integer.toString(id % 101));
            assertTrue(numeric.score(List.of(new JudgeItem("x", "q", "a"))).get(0).isEmpty());
        }
    }

    static double logSoftmax(JsonArray row, int id) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < row.size(); i++) max = Math.max(max, row.get(i).getAsDouble());
        double sum = 0;
        for (int i = 0; i < row.size(); i++) sum += Math.exp(row.get(i).getAsDouble() - max);
        return row.get(id).getAsDouble() - max - Math.log(sum);
    }
}
