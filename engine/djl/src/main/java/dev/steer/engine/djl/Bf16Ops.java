package dev.steer.engine.djl;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The bf16 weight path of the cpu backend: bf16 tensors that only libtorch sees, and the three ops that read them.
 *
 * <p>Why this way: DJL 0.36 cannot name bfloat16 (creating, casting to or asking the dtype of a BFLOAT16 NDArray
 * ends the JVM in {@code std::terminate}; INT16 too), and PyTorch's half-precision CPU matmul (DJL's FLOAT16) has no
 * fast path on CPUs without AVX512-FP16. So the weights live as TorchScript values ({@link IValue}s, which DJL
 * passes through without reading their dtype), made and used by a small TorchScript module compiled by libtorch
 * at open from the source below (written into a TorchScript archive here: no Python, no binary in the repository).
 * With steer's CPU kernels (the default) the products read these weights by address ({@link #firstRow}) and this
 * module only makes, fills, gathers (embedding rows) and reads them back. Without the kernels its {@code linear}
 * rounds the float32 activation to bf16 (round to nearest even) and multiplies bf16 by bf16 with float32
 * accumulation in PyTorch's CPU GEMM (oneDNN, which uses AVX512_BF16 or AMX where the CPU has them and widens to
 * float32 elsewhere), then widens its bf16 result back to float32 for the rest of the step.
 */
final class Bf16Ops implements AutoCloseable {
    /** TorchScript's serialized form: dtypes are ScalarType codes (15 bfloat16, 6 float32). */
    private static final String SOURCE = """
            class Ops(Module):
              __parameters__ = []
              __buffers__ = []
              training : bool
              def empty(self: __torch__.Ops,
                rows: int,
                cols: int) -> Tensor:
                return torch.empty([rows, cols], dtype=15)
              def fill(self: __torch__.Ops,
                dst: Tensor,
                row: int,
                rows: Tensor) -> int:
                _0 = torch.copy_(torch.slice(dst, 0, row, torch.add(row, torch.size(rows, 0))), rows)
                return 0
              def first_row(self: __torch__.Ops,
                w: Tensor) -> Tensor:
                return torch.slice(w, 0, 0, 1)
              def linear(self: __torch__.Ops,
                x: Tensor,
                w: Tensor) -> Tensor:
                return torch.to(torch.linear(torch.to(x, 15), w), 6)
              def embed(self: __torch__.Ops,
                table: Tensor,
                ids: Tensor) -> Tensor:
                return torch.to(torch.embedding(table, ids), 6)
              def rows(self: __torch__.Ops,
                w: Tensor,
                row: int,
                count: int) -> Tensor:
                return torch.to(torch.slice(w, 0, row, torch.add(row, count)), 6)
            """;

    private final PtNDManager manager;
    private final PtSymbolBlock module;

    private Bf16Ops(PtNDManager manager, PtSymbolBlock module) {
        this.manager = manager;
        this.module = module;
    }

    static Bf16Ops load(PtNDManager manager) {
        try {
            Path archive = Files.createTempFile("steer-bf16-ops", ".pt");
            try {
                Files.write(archive, archive());
                return new Bf16Ops(manager, JniUtils.loadModule(manager, archive, false, new String[0], new String[0], false));
            } finally {
                Files.deleteIfExists(archive);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the bf16 ops module: " + e.getMessage(), e);
        }
    }

    /** A bf16 weight [rows, cols], uninitialised; fill it with {@link #fill}. */
    IValue empty(long rows, long cols) {
        return call("empty", IValue.from(rows), IValue.from(cols));
    }

    /** Rounds float32 rows [n, cols] (to nearest even) into {@code dst}'s rows {@code row .. row + n}. */
    void fill(IValue dst, long row, PtNDArray rows) {
        try (IValue r = IValue.from(row); IValue src = IValue.from(rows); IValue done = IValueUtils.runMethod(module, "fill", dst, r, src)) {
            // nothing returned
        }
    }

    /** The first row of a bf16 weight (a view, starting at the weight's first element): DJL holds it and gives its buffer without asking its dtype. */
    PtNDArray firstRow(IValue w) {
        try (IValue y = IValueUtils.runMethod(module, "first_row", w)) {
            return y.toTensor(manager);
        }
    }

    /** {@code bf16(x) · wᵀ} accumulated in float32, as float32 [..., out]. */
    PtNDArray linear(PtNDArray x, IValue w) {
        try (IValue xi = IValue.from(x); IValue y = IValueUtils.runMethod(module, "linear", xi, w)) {
            return y.toTensor(manager);
        }
    }

    /** {@code table[ids]} widened to float32: ids [N] → [N, cols]. */
    PtNDArray embed(IValue table, PtNDArray ids) {
        try (IValue i = IValue.from(ids); IValue y = IValueUtils.runMethod(module, "embed", table, i)) {
            return y.toTensor(manager);
        }
    }

    /** Rows {@code row .. row + count} of a bf16 weight, widened to float32 (for reading a weight back). */
    PtNDArray rows(IValue w, long row, long count) {
        try (IValue r = IValue.from(row); IValue c = IValue.from(count); IValue y = IValueUtils.runMethod(module, "rows", w, r, c)) {
            return y.toTensor(manager);
        }
    }

    private IValue call(String method, IValue... args) {
        try {
            return IValueUtils.runMethod(module, method, args);
        } finally {
            for (IValue a : args) a.close();
        }
    }

    @Override
    public void close() {
        module.close();
    }

    /**
     * A TorchScript archive holding {@link #SOURCE}: the module's code, its pickled (empty) state and the format
     * version, stored uncompressed under {@code archive/} as {@code torch.jit.save} lays it out.
     */
    private static byte[] archive() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            // pickle protocol 2: GLOBAL __torch__.Ops, EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, MARK, 'training', True, SETITEMS, BUILD, STOP
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            data.write(new byte[] {(byte) 0x80, 2});
            data.write("c__torch__\nOps\n".getBytes(StandardCharsets.US_ASCII));
            data.write(new byte[] {')', (byte) 0x81, '}', '(', 'X', 8, 0, 0, 0});
            data.write("training".getBytes(StandardCharsets.US_ASCII));
            data.write(new byte[] {(byte) 0x88, 'u', 'b', '.'});
            stored(zip, "archive/data.pkl", data.toByteArray());
            stored(zip, "archive/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            stored(zip, "archive/code/__torch__.py", SOURCE.getBytes(StandardCharsets.UTF_8));
            stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            stored(zip, "archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        }
        return bytes.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] content) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(content.length);
        e.setCompressedSize(content.length);
        CRC32 crc = new CRC32();
        crc.update(content);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(content);
        zip.closeEntry();
    }
}
