package dev.steer.engine.judge;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * An LLM judge behind an OpenAI-compatible {@code POST {base}/chat/completions}, scored by {@link LogprobScore}.
 *
 * <p>At most {@link Config#concurrency()} requests are in flight per judge (a fixed pool of that many workers,
 * shared by every {@link #score} call). Rate limits (429), server errors (5xx), timeouts, I/O errors and 200
 * responses that are not a usable chat completion are retried up to {@link Config#maxAttempts()} attempts in all,
 * waiting {@code Retry-After} seconds when the server sends it and otherwise an exponential backoff with jitter.
 * An answer that still has no score is unscored, never zero. 401/403/404 mean the key, URL or model is wrong for
 * every answer alike, so they abort the batch with a {@link BadInputException} instead of being retried. Once an
 * answer timed out on every attempt, later ones try once until the server answers again, so a hung judge costs
 * one {@link Config#timeout()} per answer.
 *
 * <p>A judge whose tokenizer splits numbers (a local server running Gemma: its top tokens are only single digits)
 * would give one-token scores on a 0-9 scale; such answers are scored by the number the judge writes (a second,
 * few-token request at temperature 0), and the first one says so through the warnings sink.
 */
public final class OpenAiJudge implements Judge {

    /** The public OpenAI endpoint, used when neither a flag nor OPENAI_BASE_URL names another. */
    public static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";

    /** Longest wait a Retry-After header can impose, so a confused server cannot stall a sweep for hours. */
    private static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(5);
    /** Longest wait for the access check: it only guards against a wrong key, so it must not stall a start. */
    private static final Duration ACCESS_CHECK_TIMEOUT = Duration.ofSeconds(10);
    /** Longest backoff between attempts, however many attempts are allowed. */
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    /**
     * @param baseUrl     API root without the trailing {@code /chat/completions}, e.g. {@code https://api.openai.com/v1}
     * @param apiKey      sent as {@code Authorization: Bearer}; null or empty sends no header (local servers)
     * @param model       model name sent in each request
     * @param concurrency most requests in flight at once (≥ 1)
     * @param maxAttempts attempts per answer including the first (≥ 1)
     * @param timeout     per-request limit from sending to the complete response
     * @param backoff     wait after the first failed attempt; doubles per attempt, times a jitter in [0.5, 1)
     */
    public record Config(String baseUrl, String apiKey, String model, int concurrency, int maxAttempts,
                         Duration timeout, Duration backoff) {

        public static final int DEFAULT_CONCURRENCY = 8;
        public static final int DEFAULT_MAX_ATTEMPTS = 5;
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
        public static final Duration DEFAULT_BACKOFF = Duration.ofMillis(500);

        public Config {
            if (model == null || model.isBlank()) {
                throw new BadInputException("OpenAI judge: model name is empty; use openai:MODEL, e.g. openai:gpt-4o-mini");
            }
            baseUrl = checkedBaseUrl(baseUrl);
            if (concurrency < 1) {
                throw new BadInputException("OpenAI judge concurrency " + concurrency + ": must be at least 1");
            }
            if (maxAttempts < 1) {
                throw new BadInputException("OpenAI judge max attempts " + maxAttempts + ": must be at least 1");
            }
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new BadInputException("OpenAI judge timeout " + timeout + ": must be positive");
            }
            if (backoff == null || backoff.isNegative()) {
                throw new BadInputException("OpenAI judge backoff " + backoff + ": must not be negative");
            }
        }

        /** A config with the default backoff. */
        public Config(String baseUrl, String apiKey, String model, int concurrency, int maxAttempts, Duration timeout) {
            this(baseUrl, apiKey, model, concurrency, maxAttempts, timeout, DEFAULT_BACKOFF);
        }

        /**
         * Base URL and key from the flags when given (non-blank), else from OPENAI_BASE_URL (default
         * {@value #DEFAULT_BASE_URL}) and OPENAI_API_KEY; concurrency, attempts and timeouts at their defaults.
         *
         * @throws BadInputException when the public OpenAI endpoint would be called without a key (a local base
         *                           URL may need none), or the base URL is not an http(s) URL
         */
        public static Config fromEnv(String model, String baseUrlFlag, String keyFlag) {
            return fromEnv(model, baseUrlFlag, keyFlag, System.getenv());
        }

        /** {@link #fromEnv(String, String, String)} reading variables from {@code env} instead of the process. */
        public static Config fromEnv(String model, String baseUrlFlag, String keyFlag, Map<String, String> env) {
            String baseUrl = firstNonBlank(baseUrlFlag, env.get("OPENAI_BASE_URL"), DEFAULT_BASE_URL);
            String key = firstNonBlank(keyFlag, env.get("OPENAI_API_KEY"), "");
            String host = URI.create(checkedBaseUrl(baseUrl)).getHost();
            if (key.isEmpty() && "api.openai.com".equalsIgnoreCase(host)) {
                throw new BadInputException("OPENAI_API_KEY is not set: the judge " + baseUrl
                        + " needs an API key (set OPENAI_API_KEY or pass the key flag)");
            }
            return new Config(baseUrl, key, model, DEFAULT_CONCURRENCY, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT);
        }

        /** This config with another concurrency, attempt count, timeout and backoff (for flags and tests). */
        public Config with(int concurrency, int maxAttempts, Duration timeout, Duration backoff) {
            return new Config(baseUrl, apiKey, model, concurrency, maxAttempts, timeout, backoff);
        }

        private static String checkedBaseUrl(String url) {
            String u = url == null ? "" : url.strip();
            while (u.endsWith("/")) {
                u = u.substring(0, u.length() - 1);
            }
            try {
                URI uri = new URI(u);
                String scheme = uri.getScheme();
                if (("http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme)) && uri.getHost() != null) {
                    return u;
                }
            } catch (URISyntaxException e) {
                // reported below with the same message as any other malformed URL
            }
            throw new BadInputException("OpenAI base URL '" + url + "' is not an http(s) URL such as " + DEFAULT_BASE_URL);
        }

        private static String firstNonBlank(String... values) {
            for (String v : values) {
                if (v != null && !v.isBlank()) {
                    return v.strip();
                }
            }
            return "";
        }
    }

    private final Config config;
    private final URI endpoint;
    private final HttpClient http;
    private final ExecutorService workers;
    private final AtomicReference<String> lastProblem = new AtomicReference<>();
    private final AtomicBoolean hung = new AtomicBoolean();
    private final AtomicBoolean splitDigitsWarned = new AtomicBoolean();
    private final Consumer<String> warnings;

    /** A judge whose one-line warnings (a tokenizer that splits numbers) are dropped; see the two-argument form. */
    public OpenAiJudge(Config config) {
        this(config, line -> {
        });
    }

    /** @param warnings takes each warning line, once per kind (the CLI prints them on stderr) */
    public OpenAiJudge(Config config, Consumer<String> warnings) {
        this.config = config;
        this.warnings = warnings;
        this.endpoint = URI.create(config.baseUrl() + "/chat/completions");
        // HTTP/1.1: some local OpenAI-compatible servers mishandle the h2c upgrade the JDK tries on http:// URLs.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(config.timeout()).build();
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(config.concurrency(), r -> {
            Thread t = new Thread(r, "openai-judge-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public String id() {
        return "openai:" + config.model();
    }

    @Override
    public String scoreIdentity() {
        return id() + " at " + config.baseUrl();
    }

    public Config config() {
        return config;
    }

    /**
     * Asks {@code GET {base}/models} once, before any answer is generated, so a wrong key costs a request instead
     * of a whole generation pass: 401/403 are reported as {@link BadInputException} exactly as a scoring request
     * would report them. Anything else (200, a server without that route, no connection yet) passes: the scoring
     * requests deal with it as they always did.
     */
    public void checkAccess() {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(config.baseUrl() + "/models"))
                .timeout(config.timeout().compareTo(ACCESS_CHECK_TIMEOUT) < 0 ? config.timeout() : ACCESS_CHECK_TIMEOUT).GET();
        if (config.apiKey() != null && !config.apiKey().isEmpty()) {
            builder.header("Authorization", "Bearer " + config.apiKey());
        }
        try {
            HttpResponse<String> response = http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
            int status = response.statusCode();
            if (status == 401 || status == 403) {
                throw new BadInputException("judge " + id() + " at " + config.baseUrl() + ": HTTP " + status + " "
                        + configurationHint(status) + " (" + snippet(response.body()) + ")");
            }
        } catch (IOException e) {
            // Not reachable now: the scoring requests retry and record why, as for any outage.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Why the most recent unscored answer got no score (for a summary line after a sweep), if any did. */
    @Override
    public Optional<String> lastProblem() {
        return Optional.ofNullable(lastProblem.get());
    }

    /**
     * Scores all items, at most {@link Config#concurrency()} at a time.
     *
     * @throws BadInputException on 401/403/404 (wrong key, base URL or model); the rest of the batch is cancelled
     */
    @Override
    public List<OptionalDouble> score(List<JudgeItem> items) {
        CompletionService<Void> done = new ExecutorCompletionService<>(workers);
        OptionalDouble[] scores = new OptionalDouble[items.size()];
        List<Future<Void>> futures = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            int index = i;
            futures.add(done.submit(() -> {
                scores[index] = scoreOne(items.get(index).prompt());
                return null;
            }));
        }
        try {
            for (int i = 0; i < futures.size(); i++) {
                done.take().get();
            }
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("judge worker failed", e.getCause());
        } catch (InterruptedException e) {
            futures.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while judging", e);
        }
        return List.of(scores);
    }

    private OptionalDouble scoreOne(String prompt) {
        Optional<Map<String, Double>> top = ask(ChatCompletions.requestBody(config.model(), prompt), ChatCompletions::topLogprobs);
        if (top.isEmpty()) {
            return OptionalDouble.empty();
        }
        if (LogprobScore.onlySingleDigits(top.get())) {
            // The first token is only a first digit here: read the number the judge writes instead of a 0-9 score.
            if (splitDigitsWarned.compareAndSet(false, true)) {
                warnings.accept("judge " + id() + " at " + config.baseUrl() + ": its top " + ChatCompletions.TOP_LOGPROBS
                        + " tokens hold only single digits (its tokenizer splits numbers, as Gemma's does), so a one-token"
                        + " score would be on a 0-9 scale; scoring by the number it writes instead (one more request per answer)");
            }
            Optional<OptionalInt> written = ask(ChatCompletions.writtenNumberBody(config.model(), prompt), ChatCompletions::writtenNumber);
            if (written.isEmpty()) {
                return OptionalDouble.empty();
            }
            if (written.get().isEmpty()) {
                lastProblem.set("the judge wrote no number 0..100");
                return OptionalDouble.empty();
            }
            return OptionalDouble.of(written.get().getAsInt());
        }
        OptionalDouble score = LogprobScore.of(top.get());
        if (score.isEmpty()) {
            // A real answer that is not a number; asking again at temperature 0 gives the same one.
            lastProblem.set("the judge put less than " + LogprobScore.MIN_NUMERIC_MASS
                    + " probability on the tokens 0..100 (or sent a logprob that is no probability)");
        }
        return score;
    }

    /** Reads a 200 response body; a {@link ChatCompletions.MalformedResponse} is retried like a server error. */
    private interface Reading<T> {
        T read(String body) throws ChatCompletions.MalformedResponse;
    }

    /**
     * Sends {@code body} until a 200 response reads, retrying what is worth retrying; empty (with
     * {@link #lastProblem} set) when no attempt gave one.
     *
     * @throws BadInputException on 401/403/404
     */
    private <T> Optional<T> ask(String body, Reading<T> reading) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(endpoint)
                .timeout(config.timeout())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (config.apiKey() != null && !config.apiKey().isEmpty()) {
            builder.header("Authorization", "Bearer " + config.apiKey());
        }
        HttpRequest request = builder.build();
        String problem = "no attempt made";
        // While the judge times out on every attempt, later answers try once: a hung server costs one timeout per
        // answer, not maxAttempts of them (any response clears this).
        int attempts = hung.get() ? 1 : config.maxAttempts();
        boolean onlyTimeouts = true;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            Duration wait = backoff(attempt);
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                hung.set(false);
                onlyTimeouts = false;
                int status = response.statusCode();
                if (status == 200) {
                    try {
                        return Optional.of(reading.read(response.body()));
                    } catch (ChatCompletions.MalformedResponse e) {
                        problem = e.getMessage();
                    }
                } else if (status == 401 || status == 403 || status == 404) {
                    throw new BadInputException("judge " + id() + " at " + config.baseUrl() + ": HTTP " + status + " "
                            + configurationHint(status) + " (" + snippet(response.body()) + ")");
                } else if (status == 408 || status == 429 || status >= 500) {
                    problem = "HTTP " + status + " (" + snippet(response.body()) + ")";
                    wait = retryAfter(response).orElse(wait);
                } else {
                    // Other 4xx (e.g. 400 for a prompt over the context length) reject this request as written.
                    lastProblem.set("HTTP " + status + " (" + snippet(response.body()) + ")");
                    return Optional.empty();
                }
            } catch (HttpTimeoutException e) {
                problem = "no response within " + seconds(config.timeout()) + " (--judge-timeout)";
            } catch (IOException e) {
                onlyTimeouts = false;
                problem = "I/O error: " + e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
            if (attempt < attempts) {
                try {
                    Thread.sleep(wait.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return Optional.empty();
                }
            }
        }
        if (onlyTimeouts) {
            hung.set(true);
        }
        lastProblem.set(problem + (attempts == 1 ? "" : ", after " + attempts + " attempts"));
        return Optional.empty();
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }

    /** backoff × 2^(attempt-1), capped, times a jitter in [0.5, 1) so parallel workers do not retry in lockstep. */
    private Duration backoff(int attempt) {
        double nominal = config.backoff().toMillis() * Math.pow(2, Math.min(attempt - 1, 20));
        double capped = Math.min(nominal, MAX_BACKOFF.toMillis());
        return Duration.ofMillis((long) (capped * (0.5 + 0.5 * ThreadLocalRandom.current().nextDouble())));
    }

    /** The Retry-After header in seconds (fractions allowed); the HTTP-date form falls back to the backoff. */
    private static Optional<Duration> retryAfter(HttpResponse<?> response) {
        Optional<String> header = response.headers().firstValue("Retry-After");
        if (header.isEmpty()) {
            return Optional.empty();
        }
        try {
            double seconds = Double.parseDouble(header.get().strip());
            if (!(seconds >= 0)) {
                return Optional.empty();
            }
            long millis = (long) Math.min(seconds * 1000, MAX_RETRY_AFTER.toMillis());
            return Optional.of(Duration.ofMillis(millis));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private String configurationHint(int status) {
        return switch (status) {
            case 401 -> "unauthorized: the API key is missing or wrong (OPENAI_API_KEY)";
            case 403 -> "forbidden: the API key may not use model " + config.model();
            default -> "not found: no model " + config.model() + " or no " + endpoint.getPath() + " at this base URL";
        };
    }

    /** The start of a response body on one line, for messages. */
    private static String snippet(String body) {
        String oneLine = body == null ? "" : body.replaceAll("\\s+", " ").strip();
        return oneLine.length() <= 200 ? oneLine : oneLine.substring(0, 200) + "...";
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}
