package dev.steer.models.hf;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The safetensors element types steer can read, with their size in bytes. */
enum StoredDtype {
    F32(4), BF16(2), F16(2), F64(8), I64(8);

    final int bytes;

    StoredDtype(int bytes) {
        this.bytes = bytes;
    }

    /** Null when {@code name} is not one of the supported dtypes. */
    static StoredDtype byName(String name) {
        for (StoredDtype d : values()) if (d.name().equals(name)) return d;
        return null;
    }

    static String supportedList() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
