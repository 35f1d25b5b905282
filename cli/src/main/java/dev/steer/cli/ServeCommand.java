package dev.steer.cli;

import dev.steer.cli.serve.SteerServer;
import dev.steer.cli.serve.VectorRegistry;
import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.model.ModelDims;
import dev.steer.models.LoadedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code steer serve}: the OpenAI-compatible steering server ({@link SteerServer}). Everything a request may name
 * is checked at start (vectors against the model, telemetry layers, limits): bad input is one line and exit 2.
 * Serves until SIGTERM or SIGINT, then drains (no new requests, running ones finish) and exits 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the model over HTTP with OpenAI's API (/v1/completions, /v1/chat/completions, /v1/models), "
                + "continuous batching, per-request steering in a \"steer\" body field "
                + "([{layer, vector: NAME or [numbers], coef | ratio, positions}]) and live telemetry in every response; "
                + "also /health, /metrics (Prometheus) and /v1/steer/vectors.",
                "Ratio mode: coef = ratio x ||h|| / ||v||, ||h|| the request's own prompt activation norm at that layer "
                        + "(BOS excluded), measured before that layer's add and after the adds of earlier steered layers.",
                "Example: steer serve --model DIR --vectors vectors/optimism --port 8000"})
final class ServeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST", description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "8000", paramLabel = "PORT", description = "Port to bind; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--vector", paramLabel = "NAME=FILE", description = "Register a vector file (.json, .safetensors, .pt, .npy; FILE#KEY picks one of several) under NAME; a .gguf control vector registers each layer N as NAME_layerN (repeatable).")
    List<String> vectors = new ArrayList<>();

    @Option(names = "--vectors", paramLabel = "DIR", description = "Register every {method}_layer{L}.safetensors in DIR as {method}_layer{L}, and each layer N of every {method}.gguf as {method}_layerN (repeatable).")
    List<Path> vectorDirs = new ArrayList<>();

    @Option(names = "--max-batch", defaultValue = "64", paramLabel = "N", description = "Rows decoded together. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "256", paramLabel = "N", description = "Requests that may wait for a row; one more gets 429. Default: ${DEFAULT-VALUE}.")
    int maxQueue;

    @Option(names = "--max-new-tokens-limit", paramLabel = "N", description = "Largest max_tokens a request may ask. Default: the context.")
    Integer maxNewTokensLimit;

    @Option(names = "--max-context", paramLabel = "N",
            description = "Prompt + max_tokens per request, and the KV-cache slots per row. Default: the model's max_position_embeddings.")
    Integer maxContext;

    @Option(names = "--served-model-name", paramLabel = "NAME", description = "The model's name in the API. Default: the model directory's name.")
    String servedModelName;

    @Option(names = "--telemetry-layers", paramLabel = "L,...", split = ",",
            description = "Layers measured for every request (unsteered ones report these). Default: the middle layer.")
    List<Integer> telemetryLayers;

    @Option(names = "--drain-timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "On SIGTERM/SIGINT, how long running requests may take to finish. Default: ${DEFAULT-VALUE}.")
    long drainSeconds;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) throw new BadInputException("--port: must be in 0..65535, was " + port);
        if (maxBatch < 1) throw new BadInputException("--max-batch: must be at least 1, was " + maxBatch);
        if (maxQueue < 0) throw new BadInputException("--max-queue: must be >= 0, was " + maxQueue);
        if (drainSeconds < 0) throw new BadInputException("--drain-timeout: must be >= 0, was " + drainSeconds);
        Path dir = modelOptions.model;
        ModelDims dims = LoadedModel.inspect(dir).dims();
        int positions = dims.maxPositions();   // config.json's max_position_embeddings, checked with the other fields
        int context = maxContext == null ? positions : maxContext;
        if (context < 2 || context > positions)
            throw new BadInputException("--max-context: must be in 2.." + positions + " (max_position_embeddings), was " + context);
        int limit = maxNewTokensLimit == null ? context - 1 : maxNewTokensLimit;
        if (limit < 1 || limit >= context)
            throw new BadInputException("--max-new-tokens-limit: must be in 1.." + (context - 1) + " (below the context " + context + "), was " + limit);
        int[] layers = telemetryLayers == null ? new int[] {dims.layers() / 2} : telemetryLayers.stream().mapToInt(Integer::intValue).toArray();
        for (int l : layers) HookPoint.residPost(l).checkIn(dims, "--telemetry-layers");
        VectorRegistry registry = VectorRegistry.load(vectors, vectorDirs, dims, spec.commandLine().getErr());
        String name = servedModelName != null ? servedModelName : dir.toAbsolutePath().normalize().getFileName().toString();
        if (name.isBlank()) throw new BadInputException("--served-model-name: must not be empty");

        PrintWriter err = spec.commandLine().getErr();
        try (Backend b = modelOptions.openBackend(); LoadedModel m = modelOptions.load(b)) {
            SteerServer server = new SteerServer(new SteerServer.Config(m, name, host, port, registry, maxBatch, maxQueue,
                    limit, context, layers, CommandJson::telemetry));
            List<Signal> signals = List.of(new Signal("TERM"), new Signal("INT"));
            List<SignalHandler> previous = new ArrayList<>();
            try {
                int bound;
                try {
                    bound = server.start();
                } catch (RuntimeException e) {
                    throw new BadInputException("--host " + host + " --port " + port + ": cannot listen: " + rootMessage(e), e);
                }
                for (Signal s : signals) previous.add(Signal.handle(s, sig -> server.requestStop()));
                err.println("listening on http://" + host + ":" + bound);
                err.flush();
                server.awaitStop();
                err.println("steer serve: stopping; finishing the running requests");
                err.flush();
                boolean drained = server.shutdown(drainSeconds * 1000);
                if (!drained) err.println("steer serve: stopped before every request finished (--drain-timeout)");
            } finally {
                for (int i = 0; i < previous.size(); i++) Signal.handle(signals.get(i), previous.get(i));
                server.close();
            }
        }
        return 0;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) c = c.getCause();
        if (c instanceof java.nio.channels.UnresolvedAddressException) return "the host name does not resolve";
        return c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
    }
}
