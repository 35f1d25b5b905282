import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Closed-loop load on a running `steer serve` over HTTP (OpenAI wire format, streamed): C clients each send
 * R requests one after another; request i is steered with coef (1 + i mod K) x 0.5 of one registered vector at one
 * layer, so K distinct steering configurations share the batch. Per (C, K): completion tokens per second over the
 * wall time and p50/p99 of time to first token (request sent to first streamed text) and of the gap between
 * streamed chunks. JDK only; run with the server up:
 *   java tools/bench/ServeLoad.java URL VECTOR LAYER CLIENTS[,..] CONFIGS[,..] REQUESTS MAX_TOKENS
 *   e.g. java tools/bench/ServeLoad.java http://127.0.0.1:8000 mean_diff_layer1 1 1,8,32,64 1,8,64 4 32
 */
public class ServeLoad {
    static final Pattern TOKENS = Pattern.compile("\"completion_tokens\"\\s*:\\s*(\\d+)");

    public static void main(String[] a) throws Exception {
        String url = a[0], vector = a[1];
        int layer = Integer.parseInt(a[2]);
        int[] clients = Arrays.stream(a[3].split(",")).mapToInt(Integer::parseInt).toArray();
        int[] configs = Arrays.stream(a[4].split(",")).mapToInt(Integer::parseInt).toArray();
        int requests = Integer.parseInt(a[5]), maxTokens = Integer.parseInt(a[6]);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        int most = Arrays.stream(clients).max().orElseThrow();
        // warm-up at full concurrency: this JVM's JIT and its HTTP connections, the server's JIT
        for (int w = 0; w < 2; w++) run(http, url, vector, layer, most, 1, requests, maxTokens);
        System.out.printf("%7s %7s %12s %12s %12s %12s %12s%n", "clients", "configs", "tokens/s", "ttft p50 ms", "ttft p99 ms", "itl p50 ms", "itl p99 ms");
        for (int c : clients) print(c, 1, run(http, url, vector, layer, c, 1, requests, maxTokens));
        for (int k : configs) if (k != 1) print(most, k, run(http, url, vector, layer, most, k, requests, maxTokens));
    }

    record Result(double seconds, long tokens, double[] ttft, double[] itl) {
    }

    static void print(int c, int k, Result r) {
        System.out.printf("%7d %7d %12.1f %12.2f %12.2f %12.3f %12.3f%n", c, k, r.tokens / r.seconds,
                pct(r.ttft, 50), pct(r.ttft, 99), pct(r.itl, 50), pct(r.itl, 99));
    }

    static Result run(HttpClient http, String url, String vector, int layer, int clients, int configs, int requests,
                      int maxTokens) throws Exception {
        List<Double> ttft = new ArrayList<>(), itl = new ArrayList<>();
        AtomicLong tokens = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        List<Exception> errors = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int client = c;
            Thread t = new Thread(() -> {
                try {
                    for (int r = 0; r < requests; r++) {
                        int i = client * requests + r;
                        double coef = (1 + i % configs) * 0.5;
                        String body = "{\"model\":null,\"prompt\":\"Request " + i + ": the river runs past the old mill\","
                                + "\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"stream\":true,"
                                + "\"stream_options\":{\"include_usage\":true},"
                                + "\"steer\":[{\"layer\":" + layer + ",\"vector\":\"" + vector + "\",\"coef\":" + coef + "}]}";
                        body = body.replace("\"model\":null,", "");
                        HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
                        long sent = System.nanoTime();
                        HttpResponse<java.util.stream.Stream<String>> res = http.send(req, HttpResponse.BodyHandlers.ofLines());
                        if (res.statusCode() != 200) throw new IllegalStateException("HTTP " + res.statusCode());
                        long[] last = {0};
                        List<Double> mine = new ArrayList<>();
                        double[] first = {Double.NaN};
                        long[] used = {0};
                        res.body().forEach(line -> {
                            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) return;
                            long now = System.nanoTime();
                            Matcher m = TOKENS.matcher(line);
                            if (m.find()) used[0] = Long.parseLong(m.group(1));
                            if (!line.contains("\"text\":\"\"") && line.contains("\"text\"")) {
                                if (Double.isNaN(first[0])) first[0] = (now - sent) / 1e6;
                                else mine.add((now - last[0]) / 1e6);
                                last[0] = now;
                            }
                        });
                        // usage when the server sends it (stream_options.include_usage), else one token per text chunk
                        tokens.addAndGet(used[0] > 0 ? used[0] : mine.size() + (Double.isNaN(first[0]) ? 0 : 1));
                        synchronized (ttft) {
                            if (!Double.isNaN(first[0])) ttft.add(first[0]);
                            itl.addAll(mine);
                        }
                    }
                } catch (Exception e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) t.join();
        if (!errors.isEmpty()) throw errors.get(0);
        return new Result((System.nanoTime() - t0) / 1e9, tokens.get(), sorted(ttft), sorted(itl));
    }

    static double[] sorted(List<Double> xs) {
        double[] d = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(d);
        return d;
    }

    static double pct(double[] s, double p) {
        if (s.length == 0) return Double.NaN;
        return s[Math.max(0, Math.min(s.length - 1, (int) Math.ceil(p / 100 * s.length) - 1))];
    }
}
