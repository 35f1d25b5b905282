package dev.steer.models.vectors;

import dev.steer.engine.BadInputException;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * {@code torch.save} files (the zip format of torch 1.6 on: {@code ROOT/data.pkl} plus {@code ROOT/data/K}
 * storages), read without torch. The pickle is run by Pyrolite with an allow-list: only the globals that rebuild
 * tensors, their storages, an OrderedDict and a pickled numpy array resolve, each to a constructor of steer's own
 * that records what it is given; any other global (os.system, builtins.eval, ...) is refused before anything is
 * built, so nothing in the file is ever called. A tensor is read by its storage, offset, shape and strides.
 */
final class TorchFile {
    /** The globals a tensor file may name, and what each builds. */
    private static final Map<String, IObjectConstructor> ALLOWED = new HashMap<>();

    static {
        ALLOWED.put("torch._utils._rebuild_tensor_v2", args -> new TensorRef((Storage) args[0], number(args[1]), longs(args[2]), longs(args[3])));
        // A Parameter wraps its tensor: (data, requires_grad, backward_hooks).
        ALLOWED.put("torch._utils._rebuild_parameter", args -> args[0]);
        ALLOWED.put("torch.FloatStorage", new StorageType(StoredArray.Element.F32));
        ALLOWED.put("torch.DoubleStorage", new StorageType(StoredArray.Element.F64));
        ALLOWED.put("torch.HalfStorage", new StorageType(StoredArray.Element.F16));
        ALLOWED.put("torch.BFloat16Storage", new StorageType(StoredArray.Element.BF16));
        ALLOWED.put("collections.OrderedDict", args -> new PickledDict());
        IObjectConstructor reconstruct = args -> new NdArray();
        ALLOWED.put("numpy.core.multiarray._reconstruct", reconstruct);
        ALLOWED.put("numpy._core.multiarray._reconstruct", reconstruct);
        ALLOWED.put("numpy.ndarray", args -> new NdArray());
        ALLOWED.put("numpy.dtype", args -> new NumpyDtype(String.valueOf(args[0])));
        ALLOWED.put("_codecs.encode", args -> ((String) args[0]).getBytes(StandardCharsets.ISO_8859_1));
    }

    private TorchFile() {
    }

    /** Every tensor or array the file holds, by its name (null for a bare one; dict keys joined with '.'), and its scalar entries as metadata. */
    record Contents(Map<String, StoredArray> arrays, Map<String, String> metadata) {
    }

    static Contents read(Path file) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String root = null;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                String name = en.nextElement().getName();
                if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                    if (root != null) throw new BadInputException(file + ": holds several pickles (" + root + ", " + name + "), not one torch.save");
                    root = name.substring(0, name.length() - "data.pkl".length());
                }
            }
            if (root == null) throw new BadInputException(file + ": a zip without ROOT/data.pkl: not a torch.save file");
            Object value;
            try (InputStream in = zip.getInputStream(zip.getEntry(root + "data.pkl"))) {
                value = new SafeUnpickler(file).load(in);
            } catch (BadInputException e) {
                throw e;
            } catch (RuntimeException e) {
                // A malformed pickle surfaces from the unpickler as whatever broke first (a number that is not one, an
                // empty stack, a wrong type): all of them say the file is not a pickle steer can read.
                throw new BadInputException(file + ": data.pkl is not a tensor pickle steer reads (malformed pickle: "
                        + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ", " + e.getMessage()) + ")", e);
            }
            Map<String, StoredArray> arrays = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            collect(file, zip, root, null, value, arrays, meta);
            if (arrays.isEmpty() && meta.containsKey(SCALAR))
                throw new BadInputException(file + ": holds a 0-d tensor (the scalar " + meta.get(SCALAR) + "), not a vector");
            if (arrays.isEmpty()) throw new BadInputException(file + ": holds no tensor");
            return new Contents(arrays, meta);
        } catch (ZipException e) {
            throw new BadInputException(file + ": not a readable torch.save zip (" + e.getMessage()
                    + "); files saved before torch 1.6 or with _use_new_zipfile_serialization=False are not read", e);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static void collect(Path file, ZipFile zip, String root, String name, Object v, Map<String, StoredArray> arrays,
                                Map<String, String> meta) throws IOException {
        if (v instanceof TensorRef || v instanceof NdArray) {
            StoredArray a = v instanceof TensorRef t ? t.read(file, zip, root) : ((NdArray) v).read(file);
            // a 0-d tensor (torch.tensor(8.0), a saved coefficient or norm) is a number, as a Python scalar beside it is
            if (a.shape().length == 0) meta.put(name == null ? SCALAR : name, scalar(a));
            else arrays.put(name, a);
        } else if (v instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet())
                collect(file, zip, root, name == null ? String.valueOf(e.getKey()) : name + "." + e.getKey(), e.getValue(), arrays, meta);
        } else if (v instanceof Object[] || v instanceof List<?>) {
            List<?> items = v instanceof Object[] o ? List.of(o) : (List<?>) v;
            for (int i = 0; i < items.size(); i++) collect(file, zip, root, name == null ? Integer.toString(i) : name + "." + i, items.get(i), arrays, meta);
        } else if (v instanceof String || v instanceof Number || v instanceof Boolean) {
            meta.put(name == null ? SCALAR : name, String.valueOf(v));
        }
        // None and anything else carry no vector.
    }

    /** The metadata key of a bare scalar (the file's whole content). */
    private static final String SCALAR = "value";

    /** A 0-d tensor's value as the shortest text of its own precision (float64 as a double, the others as a float). */
    private static String scalar(StoredArray a) {
        double d = a.values()[0];
        return a.dtype().equals("float64") ? Double.toString(d) : Float.toString((float) d);
    }

    /** Pyrolite's unpickler with every global looked up in {@link #ALLOWED} only, and torch's storages as persistent ids. */
    private static final class SafeUnpickler extends Unpickler {
        private final Path file;

        SafeUnpickler(Path file) {
            this.file = file;
        }

        @Override
        protected Object dispatch(short key) throws PickleException, IOException {
            switch (key) {
                case Opcodes.GLOBAL -> {
                    String module = PickleUtils.readline(input), name = PickleUtils.readline(input);
                    stack.add(allowed(module, name));
                    return NO_RETURN_VALUE;
                }
                case Opcodes.STACK_GLOBAL -> {
                    Object name = stack.pop(), module = stack.pop();
                    stack.add(allowed(String.valueOf(module), String.valueOf(name)));
                    return NO_RETURN_VALUE;
                }
                case Opcodes.EMPTY_DICT -> {
                    // Python dicts keep insertion order (a state dict's layers in order); Pyrolite's HashMap would not.
                    stack.add(new LinkedHashMap<>());
                    return NO_RETURN_VALUE;
                }
                case Opcodes.SETITEMS -> {
                    // Pyrolite gathers the items in a HashMap first; added in order here, as Python does.
                    List<Object> items = stack.pop_all_since_marker();
                    @SuppressWarnings("unchecked")
                    Map<Object, Object> dict = (Map<Object, Object>) stack.peek();
                    for (int i = 0; i + 1 < items.size(); i += 2) dict.put(items.get(i), items.get(i + 1));
                    return NO_RETURN_VALUE;
                }
                case Opcodes.INST -> {
                    // Protocol 0's class-and-call in one opcode: torch never writes it.
                    String module = PickleUtils.readline(input), name = PickleUtils.readline(input);
                    throw refuse(module, name);
                }
                default -> {
                    return super.dispatch(key);
                }
            }
        }

        private IObjectConstructor allowed(String module, String name) {
            IObjectConstructor c = ALLOWED.get(module + "." + name);
            if (c == null) throw refuse(module, name);
            return c;
        }

        private BadInputException refuse(String module, String name) {
            return new BadInputException(file + ": refusing to unpickle " + module + "." + name
                    + " (steer unpickles only torch tensors, their storages, OrderedDict and numpy arrays)");
        }

        /** torch's ('storage', storage_type, key, location, numel). */
        @Override
        protected Object persistentLoad(Object pid) {
            if (!(pid instanceof Object[] t) || t.length < 5 || !"storage".equals(t[0]) || !(t[1] instanceof StorageType type))
                throw new BadInputException(file + ": unknown persistent id in data.pkl (not a torch storage)");
            return new Storage(type.element, String.valueOf(t[2]), number(t[4]));
        }
    }

    private static long number(Object o) {
        if (o instanceof Number n) return n.longValue();
        throw new PickleException("expected an integer, got " + o);
    }

    private static long[] longs(Object o) {
        Object[] a = (Object[]) o;
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) out[i] = number(a[i]);
        return out;
    }

    /** A storage type global (torch.FloatStorage, ...), given as the persistent id's second item. */
    private record StorageType(StoredArray.Element element) implements IObjectConstructor {
        @Override
        public Object construct(Object[] args) {
            throw new PickleException("a storage type is not called in a tensor pickle");
        }
    }

    private record Storage(StoredArray.Element element, String key, long numel) {
    }

    private record TensorRef(Storage storage, long offset, long[] shape, long[] strides) {
        StoredArray read(Path file, ZipFile zip, String root) throws IOException {
            ZipEntry e = zip.getEntry(root + "data/" + storage.key);
            if (e == null) throw new BadInputException(file + ": storage data/" + storage.key + " is missing from the zip");
            byte[] bytes;
            try (InputStream in = zip.getInputStream(e)) {
                bytes = in.readAllBytes();
            }
            if (bytes.length < storage.numel * storage.element.bytes)
                throw new BadInputException(file + ": storage data/" + storage.key + " holds " + bytes.length + " bytes, "
                        + storage.numel + " " + storage.element.label + " elements need " + storage.numel * storage.element.bytes + " (truncated?)");
            if (strides.length != shape.length) throw new BadInputException(file + ": a tensor's strides do not match its shape");
            // torch.save writes the byte order it ran with in 'byteorder'; every platform torch ships for is little-endian.
            return StoredArray.gather(file.toString(), storage.element, ByteBuffer.wrap(bytes), ByteOrder.LITTLE_ENDIAN, offset, shape, strides);
        }
    }

    /** An OrderedDict; BUILD may give it attributes (a state dict's _metadata), which carry no vector. */
    public static final class PickledDict extends LinkedHashMap<Object, Object> {
        public void __setstate__(HashMap<?, ?> state) {
            // attributes, not items: ignored
        }
    }

    /** numpy.dtype('f4', False, True), then BUILD with (3, byteorder, ...). */
    public static final class NumpyDtype {
        final String code;
        String byteOrder = "=";

        NumpyDtype(String code) {
            this.code = code;
        }

        public void __setstate__(Object[] state) {
            if (state.length > 1 && state[1] instanceof String s) byteOrder = s;
        }
    }

    /** numpy's _reconstruct(ndarray, (0,), b'b'), then BUILD with (version, shape, dtype, is_fortran, raw bytes). */
    public static final class NdArray {
        long[] shape;
        NumpyDtype dtype;
        boolean fortran;
        byte[] data;

        public void __setstate__(Object[] state) {
            shape = longs(state[1]);
            dtype = (NumpyDtype) state[2];
            fortran = Boolean.TRUE.equals(state[3]);
            if (!(state[4] instanceof byte[] b)) throw new PickleException("a numpy array of Python objects, not numbers");
            data = b;
        }

        StoredArray read(Path file) {
            if (dtype == null) throw new BadInputException(file + ": a numpy array without its state");
            StoredArray.Element e = switch (dtype.code) {
                case "f2" -> StoredArray.Element.F16;
                case "f4" -> StoredArray.Element.F32;
                case "f8" -> StoredArray.Element.F64;
                default -> throw new BadInputException(file + ": numpy dtype '" + dtype.code + "' (steer reads f2, f4, f8)");
            };
            ByteOrder order = dtype.byteOrder.equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            return StoredArray.gather(file.toString(), e, ByteBuffer.wrap(data), order, 0, shape,
                    fortran ? StoredArray.fortran(shape) : StoredArray.contiguous(shape));
        }
    }
}
