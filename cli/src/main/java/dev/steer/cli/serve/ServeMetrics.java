package dev.steer.cli.serve;

import dev.steer.engine.serving.Scheduler;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The server's Prometheus metrics, in a registry of its own: queue depth, running rows and tokens generated (read
 * from the scheduler when scraped), time to first token and inter-token latency histograms, requests by endpoint
 * and status ("499" for a client that went away).
 */
final class ServeMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram ttft;
    private final Histogram itl;
    private final Counter requests;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    ServeMetrics(Scheduler scheduler) {
        GaugeWithCallback.builder().name("steer_queue_depth").help("Requests waiting for a batch slot")
                .callback(cb -> cb.call(scheduler.queued())).register(registry);
        GaugeWithCallback.builder().name("steer_running_rows").help("Rows in the running batch")
                .callback(cb -> cb.call(scheduler.runningRows())).register(registry);
        CounterWithCallback.builder().name("steer_tokens_generated").help("Tokens generated since the start, every request")
                .callback(cb -> cb.call(scheduler.tokensGenerated())).register(registry);
        ttft = Histogram.builder().name("steer_time_to_first_token_seconds")
                .help("From the request's arrival to its first generated token")
                .classicOnly().classicUpperBounds(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30).register(registry);
        itl = Histogram.builder().name("steer_inter_token_latency_seconds")
                .help("Between two consecutive tokens of one request")
                .classicOnly().classicUpperBounds(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5).register(registry);
        requests = Counter.builder().name("steer_requests").help("Requests answered, by endpoint and HTTP status")
                .labelNames("endpoint", "status").register(registry);
    }

    void firstToken(double seconds) {
        ttft.observe(seconds);
    }

    void interToken(double seconds) {
        itl.observe(seconds);
    }

    void request(String endpoint, int status) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    String contentType() {
        return writer.getContentType();
    }

    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
