package dev.steer.models.hf;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.steer.engine.BadInputException;
import dev.steer.engine.JsonErrorText;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One safetensors file, open for reading. Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * ({@code name → {dtype, shape, data_offsets:[begin,end)}} plus optional {@code __metadata__}), then the data area;
 * offsets are relative to the data area's start.
 *
 * <p>Tensors are read by positional reads on one channel ({@link #read}), never through a memory mapping: pages read
 * through a mapping count in this process's resident set until it is unmapped, which Java 17 leaves to the GC, so a
 * load kept the whole file resident next to the converted copy. Positional reads may run from several threads at
 * once (the load-time NaN scan does). Closing closes the channel; tensors read after that throw.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** One positional read transfers at most this much (the whole request, in practice). */
    static final int DEFAULT_MAX_READ_BYTES = Integer.MAX_VALUE;
    /** The reference implementation refuses headers above 100 MB; a larger length means a foreign or corrupt file. */
    private static final long MAX_HEADER_BYTES = 100_000_000L;

    /** The scan's read size: large enough that a positional read costs little per byte. */
    static final int SCAN_BUFFER_BYTES = 8 << 20;

    private final Path file;
    private final long dataStart;
    private final int maxReadBytes;
    private final Map<String, String> metadata;
    private final Map<String, SafetensorsTensor> tensors;
    private final Map<String, SafetensorsTensor.Entry> entries;
    private final FileChannel channel;
    private volatile boolean closed;

    private SafetensorsFile(Path file, FileChannel channel, long dataStart, int maxReadBytes, Map<String, String> metadata,
                            Map<String, SafetensorsTensor.Entry> entries) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.maxReadBytes = maxReadBytes;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.entries = Map.copyOf(entries);
        Map<String, SafetensorsTensor> t = new TreeMap<>();
        entries.forEach((name, e) -> t.put(name, new SafetensorsTensor(this, name, e)));
        this.tensors = Collections.unmodifiableMap(t);
    }

    public static SafetensorsFile open(Path file) {
        return open(file, DEFAULT_MAX_READ_BYTES);
    }

    /** {@code maxReadBytes} is a parameter only so tests can split reads into pieces that cut elements apart. */
    static SafetensorsFile open(Path file, int maxReadBytes) {
        if (Files.isDirectory(file)) throw new BadInputException(file + ": is a directory, not a safetensors file");
        if (!Files.isRegularFile(file)) throw new BadInputException(file + ": safetensors file does not exist");
        FileChannel channel = null;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
            long size = channel.size();
            if (size < 8) throw truncated(file, "file is " + size + " bytes, shorter than the 8-byte header length");
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
                throw truncated(file, "header length " + Long.toUnsignedString(headerLength) + " exceeds the file's "
                        + size + " bytes");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8);
            JsonObject header = parseHeader(file, headerBytes.flip());
            long dataStart = 8 + headerLength;
            long dataLength = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, SafetensorsTensor.Entry> entries = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : header.entrySet()) {
                if (e.getKey().equals("__metadata__")) readMetadata(file, e.getValue(), metadata);
                else entries.put(e.getKey(), SafetensorsTensor.Entry.parse(file, e.getKey(), e.getValue(), dataLength));
            }
            checkDisjoint(file, entries);
            return new SafetensorsFile(file, channel, dataStart, maxReadBytes, metadata, entries);
        } catch (IOException e) {
            closeQuietly(channel);
            throw InputFiles.unreadable(file, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /**
     * Refuses tensors whose data overlap: two names for the same bytes are a corrupt or crafted file (the reference
     * implementation refuses them too), and writing one would change the other.
     */
    private static void checkDisjoint(Path file, Map<String, SafetensorsTensor.Entry> entries) {
        List<Map.Entry<String, SafetensorsTensor.Entry>> byOffset = new ArrayList<>();
        for (Map.Entry<String, SafetensorsTensor.Entry> e : entries.entrySet()) if (e.getValue().elements() > 0) byOffset.add(e);
        byOffset.sort(Comparator.comparingLong(e -> e.getValue().begin()));
        for (int i = 1; i < byOffset.size(); i++) {
            var prev = byOffset.get(i - 1);
            var next = byOffset.get(i);
            long prevEnd = end(prev.getValue());
            if (next.getValue().begin() < prevEnd) {
                throw new BadInputException(file + ": tensors " + prev.getKey() + " (data_offsets [" + prev.getValue().begin()
                        + ", " + prevEnd + "]) and " + next.getKey() + " (data_offsets [" + next.getValue().begin() + ", "
                        + end(next.getValue()) + "]) overlap; each tensor needs its own bytes");
            }
        }
    }

    private static long end(SafetensorsTensor.Entry e) {
        return e.begin() + e.elements() * e.dtype().bytes;
    }

    /**
     * Flat index of the first NaN or infinite element of tensor {@code name} among elements
     * {@code [from, from + count)}, or -1: read into {@code b} (a little-endian scratch buffer of a whole number of
     * 8-byte words), nothing converted.
     */
    long firstNonFinite(String name, long from, long count, ByteBuffer b) {
        SafetensorsTensor.Entry e = entries.get(name);
        int width = e.dtype().bytes;
        // Read, not mapped: pages touched through the mapping stay in the resident set (see read), and a scan of every
        // weight through it made a load's peak the file's size above the converted copy.
        long at = e.begin() + from * width, index = from, remaining = count;
        while (remaining > 0) {
            int n = (int) Math.min(remaining, b.capacity() / width);
            b.clear().limit(n * width);
            read(at, b);
            b.flip();
            int hit = NonFiniteScan.first(b, e.dtype());
            if (hit >= 0) return index + hit;
            at += (long) n * width;
            index += n;
            remaining -= n;
        }
        return -1;
    }

    public Path file() {
        return file;
    }

    /** The {@code __metadata__} string map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names, sorted. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor called {@code name}; a BadInputException naming the file if there is none. */
    public SafetensorsTensor tensor(String name) {
        SafetensorsTensor t = tensors.get(name);
        if (t == null) throw new BadInputException(file + ": no tensor named '" + name + "'");
        return t;
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) return;
        try {
            channel.close();
        } catch (IOException ignored) {
            // Read-only: nothing is lost by a failed close.
        }
    }

    /** Fills {@code dst} with the data-area bytes from {@code byteOffset} by positional reads. */
    void read(long byteOffset, ByteBuffer dst) {
        if (closed) throw new IllegalStateException(file + " is closed");
        int limit = dst.limit();
        try {
            long at = dataStart + byteOffset;
            while (dst.hasRemaining()) {
                dst.limit((int) Math.min(limit, (long) dst.position() + maxReadBytes));
                int n = channel.read(dst, at);
                if (n < 0) throw new IOException("unexpected end of file");
                at += n;
                dst.limit(limit);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } finally {
            dst.limit(limit);
        }
    }

    private static JsonObject parseHeader(Path file, ByteBuffer bytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(file + ": safetensors header is not UTF-8 text (corrupt or not a safetensors file)");
        }
        try {
            JsonReader reader = new JsonReader(new StringReader(text));
            reader.setStrictness(Strictness.STRICT);
            JsonElement root = new Gson().getAdapter(JsonElement.class).read(reader);
            if (reader.peek() != JsonToken.END_DOCUMENT) throw new IOException("trailing data after the JSON object");
            if (!root.isJsonObject()) throw new IOException("expected a JSON object");
            return root.getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(file + ": safetensors header is not valid JSON (" + JsonErrorText.of(e) + ")");
        }
    }

    private static void readMetadata(Path file, JsonElement json, Map<String, String> into) {
        if (!json.isJsonObject()) throw new BadInputException(file + ": __metadata__ is not a JSON object");
        for (Map.Entry<String, JsonElement> e : json.getAsJsonObject().entrySet()) {
            if (!e.getValue().isJsonPrimitive()) {
                throw new BadInputException(file + ": __metadata__ value for '" + e.getKey() + "' is not a string");
            }
            into.put(e.getKey(), e.getValue().getAsString());
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            int n = channel.read(into, position);
            if (n < 0) throw new IOException("unexpected end of file");
            position += n;
        }
    }

    private static BadInputException truncated(Path file, String why) {
        return new BadInputException(file + ": truncated or not a safetensors file (" + why + ")");
    }
}
